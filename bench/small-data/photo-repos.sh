# Helpers shared by make-datasets.sh and make-pools.sh (sourced, not run): photos taken from a git snapshot in a fixed
# order, the order of the files' git blob ids (the SHA-1 of the content: fixed, unrelated to the class or the photo).
# Two settings, read as environment variables (e.g. `REV=<commit> UNIQUE=1 take ...` for one call):
#   REV     the commit the photos are read from (default HEAD)
#   UNIQUE  when 1, photos whose content (blob id) occurs more than once anywhere in REV's tree are left out, so a photo
#           stored twice (under two classes, or in both a train and a test folder) can land in no split at all

ordered() { # git_dir folder: the .jpg files of a folder, ordered by blob id
  local rev=${REV:-HEAD}
  if [ "${UNIQUE:-0}" = 1 ]; then
    git --git-dir="$1" ls-tree -r "$rev" | awk -v dir="$2/" '
      $2 == "blob" && tolower($4) ~ /\.jpe?g$/ { n[$3]++; if (index($4, dir) == 1 && index(substr($4, length(dir) + 1), "/") == 0) f[$3] = $4 }
      END { for (b in f) if (n[b] == 1) print b, f[b] }'
  else
    git --git-dir="$1" ls-tree "$rev" "$2/" | awk '$2 == "blob" && tolower($4) ~ /\.jpe?g$/ { print $3, $4 }'
  fi | sort | cut -d' ' -f2-
}
take() { # git_dir folder dest first count (count 0: to the end)
  local list last
  list=$(ordered "$1" "$2")
  if [ "$5" -eq 0 ]; then last='$'; else last=$(($4 + $5 - 1)); fi
  mkdir -p "$3"
  sed -n "$4,${last}p" <<< "$list" | while read -r f; do
    git --git-dir="$1" show "${REV:-HEAD}:$f" > "$3/$(basename "$f")"
  done
}
gd() { if [ -d "$1/.git" ]; then echo "$1/.git"; else echo "$1"; fi; } # the git directory of a bare or non-bare snapshot
