"""The one compiled module, moderation.model._ngram_count (Cython); everything else is configured in pyproject.toml."""
from Cython.Build import cythonize
from setuptools import Extension, setup

setup(ext_modules=cythonize([Extension("moderation.model._ngram_count", ["moderation/model/_ngram_count.pyx"])],
                            compiler_directives={"language_level": "3"}))
