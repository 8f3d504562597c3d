"""How a mapping's selector matches repository paths: wcmatch globs in which `**` spans folders.

The validators compile selectors with these flags and the sync selects files with them, so a selector an
admin saves matches exactly what the sync will bring in.
"""

from wcmatch import glob

GLOB_FLAGS = glob.GLOBSTAR


def compile_selector(selector):
    """The matcher for a mapping selector; raises wcmatch's errors for a pattern it cannot compile."""
    return glob.compile(selector, flags=GLOB_FLAGS)


def selector_matches(path, selector):
    """Whether the repository path `path` is one that `selector` selects."""
    return glob.globmatch(path, selector, flags=GLOB_FLAGS)


def select_files(files, mappings):
    """{path: (file, mapping)} of the files a mapping selects; the first mapping in `mappings` order wins."""
    selected = {}
    for path in sorted(files):
        for mapping in mappings:
            if selector_matches(path, mapping.selector):
                selected[path] = (files[path], mapping)
                break
    return selected
