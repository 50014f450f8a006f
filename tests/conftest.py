"""Lets test modules in subfolders import the shared TC programs
(``tc_programs``) from this folder."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
