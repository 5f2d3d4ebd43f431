# Sourced by bench/compare.sh and bench/compare-scoring.sh (from the repository root): the PyTorch peer's path and
# interpreter (VIT_REFERENCE, VIT_PYTHON), the check that it can run, the Release build of `vit`, and the helpers that
# pick the best or least figure of the rounds.
reference=${VIT_REFERENCE:-../shared/reference/seed_vit.py}
python=${VIT_PYTHON:-/usr/bin/python3}
if ! "$python" -c 'import torch' 2>/dev/null; then
  echo "PyTorch peer missing: apt-get install -y python3-torch libopenblas0-pthread" >&2; exit 1
fi
dotnet build -c Release src/VitMlNet.Cli -v q -nologo >/dev/null
vit=src/VitMlNet.Cli/bin/Release/net10.0/vit
best() { sort -g | tail -1; }
least() { sort -g | head -1; }
