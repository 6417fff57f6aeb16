#!/usr/bin/env bash
# Renders the app's PNG icons from their SVG sources in static/icons/.
# The PNGs are committed; run this after changing an SVG.
# Needs rsvg-convert (Debian: apt-get install -y librsvg2-bin) or, failing
# that, ImageMagick's convert (apt-get install -y imagemagick).
set -euo pipefail
cd "$(dirname "$0")/../static/icons"

render() { # src size out
  if command -v rsvg-convert >/dev/null; then
    rsvg-convert --width "$2" --height "$2" --output "$3" "$1"
  elif convert -version 2>/dev/null | grep -q ImageMagick; then
    convert -background none -density 384 "$1" -resize "$2x$2" "$3"
  else
    echo "icons.sh: needs rsvg-convert (librsvg2-bin) or ImageMagick" >&2
    exit 1
  fi
}

render icon.svg 192 icon-192.png
render icon.svg 512 icon-512.png
render icon-maskable.svg 512 icon-maskable-512.png
ls -l icon-*.png
