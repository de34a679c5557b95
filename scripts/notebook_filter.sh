#!/usr/bin/env bash
# Keep notebooks clean in git: install nbstripout as this clone's filter for *.ipynb (the
# committed .gitattributes names it). Outputs, execution counts, cell ids and the metadata that
# opening a notebook in JupyterLab adds (the kernel's full language_info) are stripped when a
# notebook is staged, so an opened and saved notebook shows no change.
# Usage: scripts/notebook_filter.sh PYTHON (a Python with nbstripout installed).
# Outside a git clone (an unpacked archive) it does nothing.
set -euo pipefail
python=${1:?usage: scripts/notebook_filter.sh PYTHON}
if ! git rev-parse --git-dir >/dev/null 2>&1; then
  echo "Not a git clone: the notebook filter is not installed"
  exit 0
fi
cd "$(git rev-parse --show-toplevel)"
"$python" -m nbstripout --install --attributes .gitattributes
# JupyterLab writes the running kernel's whole language_info; the committed notebooks keep its name
keys=""
for key in codemirror_mode file_extension mimetype nbconvert_exporter pygments_lexer version; do
  keys="$keys metadata.language_info.$key"
done
git config filter.nbstripout.extrakeys "${keys# }"
echo "Notebook filter installed: staged notebooks are stripped of outputs (nbstripout)"
