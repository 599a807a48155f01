"""Reference data: the catalogue of sets, fetching and verifying them, and the manifest every result's
provenance reads reference-data versions from.

Low on the ladder (beside settings): it imports nothing from the features. The readers that check a fetched
set before it is installed are named in the catalogue as "module:function" and resolved only while a fetch
runs, so the files are accepted by the same code that reads them at run time.
"""

from gmc.refdata.manifest import ReferenceVersion, reference_versions

__all__ = ["ReferenceVersion", "reference_versions"]
