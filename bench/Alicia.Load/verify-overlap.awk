# perf script -F tid,cpu,time,ip,dso | awk -f this: of the 10 ms windows in which the leaf frame of some sample was
# libsodium (Ed25519), how many saw it on CPU 0 and on CPU 1 in the same window (verification running on both cores at once).
/^ *[0-9]+ \[[0-9]+\]/ { cpu = $2; t = $3; sub(":", "", t); getline leaf; if (leaf ~ /libsodium/) { b = int(t * 100); on[b, cpu] = 1; any[b] = 1; n[cpu]++ } }
END { w = 0; both = 0; for (b in any) { w++; if (on[b, "[000]"] && on[b, "[001]"]) both++ }
      printf "libsodium leaf samples: cpu0 %d, cpu1 %d; 10 ms windows with any: %d, with both cpus: %d (%.0f %%)\n", n["[000]"], n["[001]"], w, both, 100 * both / (w ? w : 1) }
