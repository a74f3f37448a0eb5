# A package, so this directory's conftest.py is imported as "browser.conftest" and does not
# take the module name "conftest" from the root conftest (whose unavailable() it imports).
