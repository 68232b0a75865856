"""Show: this repository's gallery of pictures and reports (not part of the library).

The folders hold what ``make gallery`` writes; :mod:`gallery.build` is the code that writes them,
through diffexplore's public API only.
"""
