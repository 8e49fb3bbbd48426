#!/usr/bin/env bash
# Provisions Mesa 25 lavapipe (software Vulkan) privately, for Linux machines without a GPU driver.
# Debian 12's own Mesa 22.3.6 lavapipe lacks the dynamic-indexing features Dawn needs, so the bookworm-backports
# build is unpacked into a cache folder; the system Mesa is never upgraded. See ../shared/docs/webgpu-node.md §2.
#
#   scripts/provision-lavapipe.sh        # prints the path of the ICD json on its last line
#
# Cache: ${QUEST_LENS_CACHE:-$HOME/.cache/quest-lens}/lavapipe-<version>. A second run only checks the cache.
set -euo pipefail

version='25.0.7-2~bpo12+1'
cache="${QUEST_LENS_CACHE:-$HOME/.cache/quest-lens}/lavapipe-${version//[~+]/_}"
icd="$cache/lvp.json"
lib="$cache/fs/usr/lib/x86_64-linux-gnu/libvulkan_lvp.so"

if [ -f "$icd" ] && [ -f "$lib" ]; then echo "$icd"; exit 0; fi

if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "provision-lavapipe: only Linux x86_64 is supported (this is $(uname -s)-$(uname -m))" >&2; exit 1
fi
if [ "$(id -u)" != 0 ]; then sudo=sudo; else sudo=; fi

# The Vulkan loader and the libraries lavapipe 25 links against (libLLVM-15 and friends) come with Debian 12's
# own mesa-vulkan-drivers; only its ICD json is left unused.
if ! dpkg -s libvulkan1 mesa-vulkan-drivers >/dev/null 2>&1; then
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends libvulkan1 mesa-vulkan-drivers >/dev/null
fi

mkdir -p "$cache/lists/partial" "$cache/parts" "$cache/apt-cache/archives/partial" "$cache/fs"
# Reuse the first stanza of the system's sources (its mirror and keyring) with the backports suite.
src=/etc/apt/sources.list.d/debian.sources
if [ -f "$src" ]; then
  awk 'BEGIN{RS="";ORS="\n\n"} NR==1' "$src" | sed 's/^Suites:.*/Suites: bookworm-backports/' > "$cache/parts/bpo.sources"
else
  echo "deb http://deb.debian.org/debian bookworm-backports main" > "$cache/parts/bpo.list"
fi
opts=(-oAPT::Sandbox::User=root -oDir::State::Lists="$cache/lists" -oDir::Etc::SourceList=/dev/null -oDir::Etc::SourceParts="$cache/parts"
      -oDir::Cache="$cache/apt-cache")
apt-get "${opts[@]}" update -qq
(cd "$cache" && apt-get "${opts[@]}" download "mesa-vulkan-drivers=$version" >/dev/null)
dpkg -x "$cache"/mesa-vulkan-drivers_*.deb "$cache/fs"
[ -f "$lib" ] || { echo "provision-lavapipe: $lib missing after unpacking" >&2; exit 1; }
printf '{"file_format_version":"1.0.0","ICD":{"library_path":"%s","api_version":"1.4.305"}}\n' "$lib" > "$icd.tmp"
mv "$icd.tmp" "$icd"
echo "$icd"
