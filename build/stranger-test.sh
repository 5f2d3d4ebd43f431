#!/usr/bin/env bash
# The packages as a stranger uses them: packs VitMlNet, VitMlNet.Scoring and the vit tool into a folder,
# then, in a temporary directory outside this repository (no Directory.Build.*, no central versions, no repo
# nuget.config), creates fresh `dotnet new console` projects that get the packages from that folder only (plus the
# machine's NuGet source for their dependencies) and runs:
#   train  references VitMlNet: generates a tiny image folder, fits, saves model.zip (needs the native TorchSharp
#          backend to load with no hand step: the package's buildTransitive targets);
#   score  references VitMlNet.Scoring only: loads model.zip, PredictionEnginePool, predicts; checks that no
#          TorchSharp file reached its output.
#   tool   `dotnet tool install vit` from the folder (RID-specific: vit -> vit.linux-x64): vit info, predict, train.
# Each package gets a version unique to this run, so the NuGet cache never serves an older build of it.
# Usage: build/stranger-test.sh [--keep]    Prints "stranger test: passed" or "stranger test: FAILED (...)".
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
keep=false; [ "${1:-}" = "--keep" ] && keep=true
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
work=$(mktemp -d "${TMPDIR:-/tmp}/vitmlnet-stranger.XXXXXX")
case "$work" in "$repo"/*) echo "stranger test: FAILED (temporary directory inside the repository)"; exit 1;; esac
version="0.1.0-stranger.$(date +%Y%m%d%H%M%S).$$"
start=$SECONDS
step="pack"
cleanup() {
  status=$?
  # This run's packages in the NuGet cache (small; the dependencies stay cached).
  for id in vitmlnet vitmlnet.scoring vit; do rm -rf "${NUGET_PACKAGES:-$HOME/.nuget/packages}/$id/$version"; done
  [ -n "${tools:-}" ] && rm -rf "$tools"; rm -rf "${NUGET_PACKAGES:-$HOME/.nuget/packages}/vit.linux-x64/$version"
  if [ "$status" -eq 0 ]; then
    echo "stranger test: passed ($((SECONDS - start)) s, version $version)"
    $keep || rm -rf "$work"
  else
    echo "stranger test: FAILED (step $step, exit $status; files kept in $work)"
  fi
}
trap cleanup EXIT

feed="$work/feed"
echo "== packing $version into $feed"
for project in src/VitMlNet.Scoring/VitMlNet.Scoring.csproj src/VitMlNet/VitMlNet.csproj src/VitMlNet.Cli/VitMlNet.Cli.csproj; do
  dotnet pack "$repo/$project" -c Release -p:Version="$version" -p:PackageOutputPath="$feed" -v:q -nologo -clp:ErrorsOnly
done
ls -l "$feed"

# The stranger's machine-level sources stay; the folder is added next to them.
cat > "$work/nuget.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <add key="vitmlnet-local" value="$feed" />
  </packageSources>
</configuration>
XML

step="train"
echo "== train: dotnet new console + dotnet add package VitMlNet"
(cd "$work" && dotnet new console -o train --framework net10.0 >/dev/null)
(cd "$work/train" && dotnet add package VitMlNet --version "$version" >/dev/null)
rm "$work/train/Program.cs"; cp "$repo/build/stranger/TrainApp.cs" "$work/train/Program.cs"
(cd "$work/train" && dotnet run -c Release -- "$work/images" "$work/model.zip")

step="score"
echo "== score: dotnet new console + dotnet add package VitMlNet.Scoring"
(cd "$work" && dotnet new console -o score --framework net10.0 >/dev/null)
(cd "$work/score" && dotnet add package VitMlNet.Scoring --version "$version" >/dev/null)
rm "$work/score/Program.cs"; cp "$repo/build/stranger/ScoreApp.cs" "$work/score/Program.cs"
(cd "$work/score" && dotnet run -c Release -- "$work/images" "$work/model.zip")

step="tool"
echo "== tool: dotnet tool install vit (RID-specific: vit -> vit.linux-x64)"
tools="$work/tools"
dotnet tool install vit --version "$version" --tool-path "$tools" --add-source "$feed" >/dev/null
"$tools/vit" info "$work/model.zip" > "$work/info.txt"
head -n 6 "$work/info.txt"
"$tools/vit" predict "$work/model.zip" "$work/images/left/00.png" "$work/images/right/00.png"
# Training loads the tool's own libtorch and libLibTorchSharp.so (patched at pack time).
"$tools/vit" train --data "$work/images" --preset tiny --epochs 1 --batch 16 --out "$work/tool-model.zip" > "$work/tool-train.txt"
grep -E '^(saved|test accuracy)' "$work/tool-train.txt" || tail -n 3 "$work/tool-train.txt"
