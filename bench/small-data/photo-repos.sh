# Helpers shared by make-datasets.sh and make-pools.sh (sourced, not run): photos taken from a git snapshot in a fixed
# order, the order of the files' git blob ids (the SHA-1 of the content: fixed, unrelated to the class or the photo).

ordered() { # git_dir folder: the .jpg files of a folder, ordered by blob id
  git --git-dir="$1" ls-tree HEAD "$2/" | awk '$2 == "blob" && tolower($4) ~ /\.jpe?g$/ { print $3, $4 }' | sort | cut -d' ' -f2-
}
take() { # git_dir folder dest first count (count 0: to the end)
  local list last
  list=$(ordered "$1" "$2")
  if [ "$5" -eq 0 ]; then last='$'; else last=$(($4 + $5 - 1)); fi
  mkdir -p "$3"
  sed -n "$4,${last}p" <<< "$list" | while read -r f; do
    git --git-dir="$1" show "HEAD:$f" > "$3/$(basename "$f")"
  done
}
gd() { if [ -d "$1/.git" ]; then echo "$1/.git"; else echo "$1"; fi; } # the git directory of a bare or non-bare snapshot
