"""Test-suite setup: this file's folder is put on sys.path, so every test imports ``reference_release`` from here."""
