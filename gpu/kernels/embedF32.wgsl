// Embedding lookup, F32 table: out[t, :] = table[ids[t], :] dequantized to f32, for the ids that fall in
// this part's rows [firstRow, firstRow + rows). One workgroup per token; each thread writes 8 elements per step.
// The last part also fills the rows of ids at or past the table's end with `fill` (NaN), so a bad id shows.

struct Params {
  tokens : u32,
  cols : u32,      // embedding width
  firstRow : u32,  // the part's first table row
  rows : u32,      // rows of this part
  totalRows : u32, // rows of the whole table
  isLast : u32,    // 1 for the table's last part
  gridX : u32,     // workgroups along x (a 2-D grid when tokens exceed 65535)
  fill : u32,      // f32 bits written for an out-of-range id
}

@group(0) @binding(0) var<storage, read> w : array<u32>;  // (rows, 4 ceil(cols/4)) f32 bits, rows zero padded to 16 B
@group(0) @binding(1) var<storage, read> ids : array<u32>;        // (tokens) u32
@group(0) @binding(2) var<storage, read_write> out : array<f32>;  // (tokens, cols) f32
@group(0) @binding(3) var<uniform> p : Params;

override WG : u32 = 64u;

// Elements k0..k0+7 of row `row` (k0 % 8 == 0, k0 < cols); elements at or past cols read as 0.
fn load8(row : u32, k0 : u32) -> array<vec4<f32>, 2> {
  let base = row * ((p.cols + 3u) / 4u * 4u) + k0;
  var v = array<vec4<f32>, 2>(vec4<f32>(0.0), vec4<f32>(0.0));
  for (var i = 0u; i < 8u; i++) {
    if (k0 + i < p.cols) { v[i / 4u][i % 4u] = bitcast<f32>(w[base + i]); }
  }
  return v;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg : vec3<u32>, @builtin(local_invocation_index) t : u32) {
  let token = wg.y * p.gridX + wg.x;
  if (token >= p.tokens) { return; }
  let id = ids[token];
  let o = token * p.cols;
  if (id >= p.firstRow && id - p.firstRow < p.rows) {
    for (var k0 = 8u * t; k0 < p.cols; k0 += 8u * WG) {
      let v = load8(id - p.firstRow, k0);
      for (var i = 0u; i < 8u; i++) {
        if (k0 + i < p.cols) { out[o + k0 + i] = v[i / 4u][i % 4u]; }
      }
    }
  } else if (p.isLast == 1u && id >= p.totalRows) {
    for (var k = t; k < p.cols; k += WG) { out[o + k] = bitcast<f32>(p.fill); }
  }
}
