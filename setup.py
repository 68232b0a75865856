"""Builds the compiled planning walk (diffexplore/_planwalk.c) when a C compiler is at hand; without one
the package installs all the same and plans with the same walk written in Python."""

from setuptools import Extension, setup

setup(ext_modules=[Extension("diffexplore._planwalk", ["diffexplore/_planwalk.c"], optional=True)])
