"""Name normalisation and a built-in table of English given-name variants and nicknames."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# One group per line: a formal name, then its common short forms, nicknames and spelling variants.
# A name may sit in several groups (Chris -> Christopher, Christine, Christian); two given names are
# treated as the same person's name when they share any group.
_NICKNAME_GROUPS = """
abigail abby abbie abi gail
abraham abe bram
adam ade
adrian ade
agnes aggie nessa
albert al bert bertie
alexander alex alec alick sandy xander lex alistair alasdair
alexandra alex alexa lexi sandra sandy zandra
alfred alf alfie fred freddie
alice ally allie alys
alison ali allie
amanda mandy manda
amelia amy millie mia
andrew andy drew
angela angie
anne ann annie nan nancy anna hannah
anthony tony ant antony
archibald archie baldie
arthur art artie
barbara barb babs barbie
barnaby barney
barry baz
benjamin ben benny benji
bernard bernie barney
beatrice bea bee trixie
bradley brad
brenda bren
bridget bridie biddy brigid
caroline carol carrie caz lynn
catherine cath cathy kate katie kath kathy kathryn katherine kay kit cat katy
cecilia cissy cece celia
charles charlie chas chuck chaz carl
charlotte charlie lottie lotty carlotta
christine chris chrissie tina kirsty kirsten christina
christopher chris kit topher kris
christian chris
clifford cliff
colin col
constance connie
cornelius neil con
cuthbert bert cuddy
cynthia cindy
daniel dan danny
daniella dani ella
david dave davy dai davey
deborah debbie deb debra
dennis den
derek del
diana di diane dee
dominic dom
donald don donnie
dorothy dot dottie dolly dora
douglas doug
edmund ed eddie ned ted
edward ed eddie ned ted teddy ward
edwin ed eddie ned
eleanor ellie nell nellie ella nora elinor
elizabeth liz lizzie beth betty bess bessie eliza libby lisa liza betsy elspeth lilibet tetty ella
ellen nell nellie
emily em emmy millie
emma em emmy
eric rick ricky
ernest ernie
esther essie hester
eugene gene
evelyn eve evie
florence flo florrie flossie
frances fran fanny frankie francesca
francis frank frankie fran
frederick fred freddie freddy fritz
gabriel gabe gaby
gabrielle gaby gabby elle
geoffrey geoff jeff jeffrey
george georgie geordie
georgina georgie gina
gerald gerry jerry ged
geraldine gerry geri dina
gilbert gil bert
gordon gordy
graham gray
gregory greg
gwendoline gwen wendy
harold harry hal
harriet hattie harry
helen nell nellie ellie lena
henry harry hal hank
herbert herb bert bertie
howard howie
hugh hughie hew
isaac ike zak
isabel izzy bella isabella isobel belle ishbel
jacob jake jack
jacqueline jackie jacqui
james jim jimmy jamie jem seamus hamish jamesie
jane janey jenny jean janet jan
janet jan jenny netta
jennifer jen jenny jennie
jeremy jerry jez
jessica jess jessie
joan joanie
joanna jo joanne
jonathan jon jonny john
john jack johnny jon ian sean shaun shawn evan ieuan ewan
joseph joe joey jo
josephine jo josie
joshua josh
judith judy jude
julia julie jules
julian jules
karen kaz
katherine kate kathy katie kath
kenneth ken kenny
kimberley kim kimberly
lawrence larry laurie laurence lol
leonard len lenny leo
leslie les
lillian lily lil
louisa lou lulu louise
lucy lucie lu
luke lucas
madeline maddie maddy madeleine
malcolm mal
margaret maggie peggy meg megan marge margie madge greta daisy mags maisie rita margo
marjorie marge margie
martin marty
mary molly polly mae mamie maria marie mia moira maura
matilda tilly tilda maud
matthew matt matty
maureen mo
michael mike mick mickey micky mikey
nathan nat nate
nathaniel nat nate nathan
nicholas nick nicky nico
nicola nicky nikki
nigel nige
norman norm
oliver ollie olly noll
olivia liv livvy ollie
pamela pam
patricia pat patty trish tricia
patrick pat paddy packy
paul pauly
penelope penny
peter pete
philip phil pip
phyllis phyl
rachel rach
raymond ray
rebecca becky becca bex
reginald reg reggie
richard rick ricky dick rich richie
robert bob bobby rob robbie bert rab
roberta bobbie robbie
rodney rod
ronald ron ronnie
rosemary rose rosie
rosalind ros roz
rupert rupe
russell russ
samantha sam sammy
samuel sam sammy
sarah sally sadie sara
sebastian seb
sidney sid
simon si
sophia sophie
stanley stan
stephanie steph stevie
stephen steve stevie steven
stuart stu stewart
susan sue susie suzy suzanne susanna
sylvia syl
terence terry tel
theodore theo ted teddy
thomas tom tommy thom
timothy tim timmy
valerie val
victoria vicky vicki tori
vincent vince vinny
violet vi
walter walt wally
wilfred wilf fred
william bill billy will willie liam wills
winifred winnie freda
yvonne vonnie
zachary zach zak
muhammad mohammed mohammad mohamed mohamad mohd muhammed mo
abdul abdal
ahmed ahmad
hussain hussein husain
mustafa mustapha
yusuf yousef yusef joseph
ibrahim abraham
sulaiman suleman sulayman solomon
fatima fatimah fatma
ayesha aisha aysha
mariam maryam miriam mary
khadija khadijah
zainab zaynab
rajesh raj
rajinder raj
harjinder harj
gurpreet gurp
manpreet manny
sukhvinder sukhi
balwinder balli
pardeep pardip pradeep
sandeep sunny
jaswinder jas
parminder pam
kuldip kuldeep
amarjit amarjeet
sanjay sanj
ravinder ravi
dariusz darek
krzysztof krzys chris
aleksander olek alex
katarzyna kasia kate
malgorzata gosia
agnieszka aga
wojciech wojtek
tomasz tomek thomas
piotr peter
siobhan shiv
sean shaun shawn
niamh neve
aoife eva
ciaran kieran
padraig patrick
seamus shay
gwyneth gwen
dafydd dai david dave
rhys reece rees
iolo iolyn
angharad angie
"""


def _build_groups(text: str) -> dict[str, frozenset[int]]:
    groups: dict[str, set[int]] = {}
    for group_id, line in enumerate(line for line in text.splitlines() if line.strip()):
        for name in line.split():
            groups.setdefault(name.upper(), set()).add(group_id)
    return {name: frozenset(ids) for name, ids in groups.items()}


#: Upper-case given name -> ids of the nickname groups it belongs to.
NICKNAME_GROUPS: dict[str, frozenset[int]] = _build_groups(_NICKNAME_GROUPS)

_GROUP_MEMBERS: dict[int, list[str]] = {}
for _name, _groups in NICKNAME_GROUPS.items():
    for _group in _groups:
        _GROUP_MEMBERS.setdefault(_group, []).append(_name)

_NON_LETTERS = re.compile(r"[^A-Z ]+")
_SPACES = re.compile(r"\s+")
_TITLES = frozenset({"MR", "MRS", "MS", "MISS", "DR", "PROF", "REV", "SIR", "MX", "MASTER"})
_SUFFIXES = frozenset({"JR", "JNR", "SR", "SNR", "II", "III"})


@lru_cache(maxsize=200_000)
def normalise_name(value: str | None) -> str:
    """Returns an upper-case, accent-free name with titles and punctuation removed ('' when empty)."""
    if not value:
        return ""
    text = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode("ascii").upper()
    # Hyphens and apostrophes join parts of one name (O'Brien, Smith-Jones), so they vanish without a gap.
    text = text.replace("'", "").replace("-", " ").replace(".", " ")
    words = [w for w in _SPACES.split(_NON_LETTERS.sub("", text)) if w]
    words = [w for w in words if w not in _TITLES and w not in _SUFFIXES] or words
    return " ".join(words)


def first_name_token(value: str) -> str:
    """Returns the first word of a normalised given name (the forename, not middle names)."""
    return value.split(" ", 1)[0] if value else ""


def compact_name(value: str) -> str:
    """Returns a normalised name without spaces, so 'Smith Jones' and 'Smithjones' compare equal."""
    return value.replace(" ", "")


def are_nicknames(first: str, second: str) -> bool:
    """Returns True when two upper-case given names share a nickname group (Bill and William)."""
    if first == second:
        return True
    a = NICKNAME_GROUPS.get(first)
    b = NICKNAME_GROUPS.get(second)
    return bool(a and b and a & b)


def nickname_pair_count() -> int:
    """Returns the number of distinct name pairs the nickname table links."""
    names = sorted(NICKNAME_GROUPS)
    return sum(
        1 for i, a in enumerate(names) for b in names[i + 1 :] if NICKNAME_GROUPS[a] & NICKNAME_GROUPS[b]
    )


@lru_cache(maxsize=50_000)
def canonical_given_keys(value: str) -> frozenset[str]:
    """Returns blocking keys for a given name: its nickname groups, or the name itself if not in the table."""
    groups = NICKNAME_GROUPS.get(value)
    if groups:
        return frozenset(f"G{g}" for g in groups)
    return frozenset({value})


@lru_cache(maxsize=50_000)
def name_variants(name: str) -> frozenset[str]:
    """Returns an upper-case given name with all names sharing a nickname group with it (itself included)."""
    groups = NICKNAME_GROUPS.get(name, frozenset())
    return frozenset(n for g in groups for n in _GROUP_MEMBERS[g]) | {name}


def variant_initials(name: str) -> frozenset[str]:
    """Returns the initials of a given name and of its nickname variants (John -> J, S for Sean, I ...)."""
    return frozenset(n[0] for n in name_variants(name) if n)


def are_related_variants(first: str, second: str) -> bool:
    """Returns True when two given names are linked through a shared variant (Janey - Janet - Netta)."""
    if are_nicknames(first, second):
        return True
    second_groups = NICKNAME_GROUPS.get(second)
    if not second_groups or first not in NICKNAME_GROUPS:
        return False
    return any(NICKNAME_GROUPS[n] & second_groups for n in name_variants(first))
