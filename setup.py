"""The build step setup.cfg cannot say: a wheel carries the repository's top-level static/ and
migrations/ inside the wiki package (wiki/_data/), where wiki/package_data.py finds them once
installed. An editable install (`pip install -e .`, as `make install` does) copies nothing: the
app reads them from the checkout. Everything else is declared in setup.cfg."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

# Top-level folder -> where it goes in the built package (keep in step with wiki/package_data.py).
CARRIED = {"static": "wiki/_data/static", "migrations": "wiki/_data/migrations"}


class BuildPyWithData(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        for source, target in CARRIED.items():
            self.remove_stale(Path(self.build_lib, target))
            for path in sorted(Path(source).rglob("*")):
                if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                    destination = Path(self.build_lib, target, path.relative_to(source))
                    self.mkpath(str(destination.parent))
                    self.copy_file(str(path), str(destination))

    @staticmethod
    def remove_stale(folder: Path) -> None:
        """A file deleted from the checkout must not stay in the next wheel from build/lib."""
        if folder.is_dir():
            shutil.rmtree(folder)


setup(cmdclass={"build_py": BuildPyWithData})
