"""What `make test` installs besides Python packages: only what the tests need."""
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_make_installs_chromium_without_recommended_packages():
    recipe = subprocess.run(["make", "--dry-run", "browser"], cwd=REPO, capture_output=True, text=True,
                            check=True).stdout
    installs = [line for line in recipe.splitlines() if "apt-get install" in line]
    assert installs and all("--no-install-recommends" in line for line in installs), recipe
    assert "chromium-driver" not in recipe  # Playwright drives Chromium itself, without chromedriver
