// What every decode matvec (matmulVec*.wgsl) shares after its dot products: matmul.ts appends this file to each
// kernel's source when it builds the shader module (WGSL lets module-scope declarations come in any order). The
// kernel declares Params p, the bias, y, y1 and y2 bindings, the WG, TPR, NR and SWIGLU overrides, the workgroup
// array `partial`, and rowsDot(g, lane), this lane's sums for the NR rows of row group g; the prologue composed
// before it (matmulVecPrologue.wgsl or matmulVecNorm.wgsl) declares prologue(t), which main calls first.

// Part row of slot r of row group g: NR consecutive rows, or with SWIGLU NR/2 gate rows and their up rows. Slots
// past the end repeat the last row (computed, never written).
fn rowOf(g : u32, r : u32) -> u32 {
  if (SWIGLU) {
    let pairs = NR / 2u;
    let j = min(g * pairs + r % pairs, p.split1 - 1u);
    return select(j, p.split1 + j, r >= pairs);
  }
  return min(g * NR + r, p.rows - 1u);
}

// Row `row` of the whole weight's W·x is s: added to (accumulate) or stored in its output, bias first.
fn store(row : u32, s : f32) {
  var v = s;
  if (p.bias == 1u) { v += bias[row]; }
  if (row < p.split1) {
    if (p.accumulate == 1u) { y[row] += v; } else { y[row] = v; }
  } else if (row < p.split2) {
    let i = row - p.split1;
    if (p.accumulate == 1u) { y1[i] += v; } else { y1[i] = v; }
  } else {
    let i = row - p.split2;
    if (p.accumulate == 1u) { y2[i] += v; } else { y2[i] = v; }
  }
}

// The group's sums, one per slot, to the outputs.
fn writeRows(g : u32, s : vec4<f32>) {
  if (SWIGLU) {
    let pairs = NR / 2u;
    for (var r = 0u; r < pairs; r++) {
      let j = g * pairs + r;
      let gate = s[r];
      // As swiglu.wgsl: exp(-g) overflows to +inf for g < -88, and g / inf = -0 is the right limit.
      if (j < p.split1) { y[j] = gate / (1.0 + exp(-gate)) * s[r + pairs]; }
    }
    return;
  }
  for (var r = 0u; r < NR; r++) {
    if (g * NR + r < p.rows) { store(p.rowOffset + g * NR + r, s[r]); }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg : vec3<u32>, @builtin(local_invocation_index) t : u32) {
  let g = (wg.y * p.gridX + wg.x) * (WG / TPR) + t / TPR; // row group
  let lane = t % TPR;
  prologue(t);
  var acc = vec4<f32>(0.0);
  if (g * NR < p.rows) { acc = rowsDot(g, lane); }
  partial[t] = acc;
  for (var s = TPR / 2u; s > 0u; s >>= 1u) {
    workgroupBarrier();
    if (lane < s) { partial[t] += partial[t + s]; }
  }
  if (lane == 0u) { writeRows(g, partial[t]); }
}
