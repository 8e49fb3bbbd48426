// RoPE in place on q or k: token t (position step.pos0 + t), head h, pair i of the first `dims` dimensions turns by
// angle(position, i). NEOX = false rotates (2i, 2i+1) (llama in GGUF); NEOX = true rotates (i, i + dims/2) (qwen2/3).
// Dimensions from `dims` to headDim are left as they are. One thread per pair. With heads2 > 0 the same dispatch
// also rotates x2 (k beside q: one dispatch per layer instead of two), its threads after x's.
//
// The angle is reduced mod 2π from exact products (gpu/model/rope.ts, ropeAngleTable): an f32 position * invFreq is
// off by up to ~3e-3 rad at position 128K, this by ~1e-6 rad below 2^24.

struct Params {
  tokens : u32,       // tokens this dispatch covers (its grid); the step may use fewer
  heads : u32,
  headDim : u32,
  pairs : u32,        // dims / 2
  tokenStride : u32,  // f32 elements from one token's row to the next (heads * headDim when x is only q or k)
  offset : u32,       // f32 elements before token 0, head 0 (to rotate k inside a fused qkv row)
  heads2 : u32,       // heads of x2, 0: x only
  tokenStride2 : u32, // as tokenStride and offset, for x2
  offset2 : u32,
}

// Rewritten by the host every step (writeRopeStep); shared by every dispatch of the step.
struct Step {
  pos0 : u32,         // position of token 0
  tokens : u32,       // tokens in this step (<= Params.tokens)
}

@group(0) @binding(0) var<storage, read> angles : array<vec4<f32>>;  // (pairs) [fHi, fLo, gHi, gLo] turns per position
@group(0) @binding(1) var<storage, read_write> x : array<f32>;       // (tokens, tokenStride); head h at offset + h*headDim
@group(0) @binding(2) var<storage, read_write> x2 : array<f32>;      // (tokens, tokenStride2); head h at offset2 + h*headDim
@group(0) @binding(3) var<uniform> p : Params;
@group(0) @binding(4) var<uniform> step : Step;

override WG : u32 = 64u;
override NEOX : bool = false;

const TAU : f32 = 6.283185307179586;

// Angle in [-π, π] of pair `i` at `position` (< 2^24): frac(position * turnsPerPosition) formed from exact products.
fn angle(i : u32, position : u32) -> f32 {
  let e = angles[i];
  let hi = f32(position >> 12u);
  let lo = f32(position & 4095u);
  let a = lo * e.x;  // exact: 12-bit integer times a 12-bit mantissa
  let b = hi * e.z;  // exact
  var turns = ((a - round(a)) + (b - round(b))) + (lo * e.y + hi * e.w);
  turns = turns - round(turns);
  return turns * TAU;
}

@compute @workgroup_size(WG)
fn main(
  @builtin(workgroup_id) wg : vec3<u32>,
  @builtin(num_workgroups) groups : vec3<u32>,
  @builtin(local_invocation_index) lid : u32,
) {
  let idx = (wg.y * groups.x + wg.x) * WG + lid;
  let tokens = min(step.tokens, p.tokens);
  let first = tokens * p.heads * p.pairs; // x's threads, then x2's
  if (idx >= first + tokens * p.heads2 * p.pairs) { return; }
  let second = idx >= first;
  let j = select(idx, idx - first, second);
  let heads = select(p.heads, p.heads2, second);
  let i = j % p.pairs;
  let th = j / p.pairs;
  let h = th % heads;
  let t = th / heads;

  let theta = angle(i, step.pos0 + t);
  let c = cos(theta);
  let s = sin(theta);
  let base = select(p.offset, p.offset2, second) + t * select(p.tokenStride, p.tokenStride2, second) + h * p.headDim;
  var a = base + 2u * i;
  var b = a + 1u;
  if (NEOX) {
    a = base + i;
    b = a + p.pairs;
  }
  if (second) {
    let x0 = x2[a];
    let x1 = x2[b];
    x2[a] = x0 * c - x1 * s;
    x2[b] = x0 * s + x1 * c;
  } else {
    let x0 = x[a];
    let x1 = x[b];
    x[a] = x0 * c - x1 * s;
    x[b] = x0 * s + x1 * c;
  }
}
