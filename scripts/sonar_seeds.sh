#!/usr/bin/env bash
# Runs the three sonar experiments for seeds FIRST..LAST (default 1..5) and prints one row per
# seed plus the mean of each column: the table in README.md.
#   scripts/sonar_seeds.sh [FIRST] [LAST]      (data through --data-less lookup: SONAR_CSV etc.)
set -euo pipefail
cd "$(dirname "$0")/.."
first=${1:-1}
last=${2:-5}
cargo build --release --example sonar_dropout >&2
echo "| seed | Baseline | Visible | Hidden |"
echo "|---:|---:|---:|---:|"
for seed in $(seq "$first" "$last"); do
  ./target/release/examples/sonar_dropout --seed "$seed" |
    awk -v s="$seed" '{ gsub("%", "", $2); gsub("%\\)", "", $3); v[NR] = $2 } END { printf "| %s | %s | %s | %s |\n", s, v[1], v[2], v[3] }'
done | tee /tmp/ndnet_seeds.$$
awk -F'|' '{ b += $3; v += $4; h += $5; n++ } END { printf "| mean | %.2f | %.2f | %.2f |\n", b / n, v / n, h / n }' /tmp/ndnet_seeds.$$
rm -f /tmp/ndnet_seeds.$$
