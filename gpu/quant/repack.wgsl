// Weight upload: builds one region of a weight's GPU layout from raw ggml rows on the GPU (the CPU reference is
// packRegion in format.ts). Each invocation writes one u32 of the region: the region's row r holds bytes
// fieldOffset .. fieldOffset + fieldBytes - 1 of every ggml block of row r, concatenated, zero padded; with
// convert = 1 the field is an f16 and each u32 is the f32 of the same value.

struct Params {
  rows : u32,         // ggml rows to rearrange
  srcOffset : u32,    // byte of src where the first of them starts
  blocksPerRow : u32,
  blockBytes : u32,
  fieldOffset : u32,
  fieldBytes : u32,
  dstRowWords : u32,  // u32 words per row of the region
  dstFirstRow : u32,  // the region row that src's first row goes to
  convert : u32,      // 1: f16 field -> f32
  gridX : u32,        // workgroups along x (a 2-D grid past 65535 workgroups)
}

@group(0) @binding(0) var<storage, read> src : array<u32>;        // ggml rows from srcOffset: (rows, blocksPerRow * blockBytes) bytes
@group(0) @binding(1) var<storage, read_write> dst : array<u32>;  // the region: (its rows, dstRowWords)
@group(0) @binding(2) var<uniform> p : Params;

fn srcByte(i : u32) -> u32 {
  return (src[i / 4u] >> (8u * (i % 4u))) & 0xffu;
}

// The f32 bits of the f16 with bits h, exactly (subnormals included, which a GPU's f16 conversion may flush).
fn f16ToF32Bits(h : u32) -> u32 {
  let sign = (h & 0x8000u) << 16u;
  let e = (h >> 10u) & 0x1fu;
  let m = h & 0x3ffu;
  if (e == 0u) { return sign | bitcast<u32>(f32(m) * 5.9604644775390625e-8); } // m * 2^-24
  if (e == 31u) { return sign | 0x7f800000u | (m << 13u); }
  return sign | ((e + 112u) << 23u) | (m << 13u);
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg : vec3<u32>, @builtin(local_invocation_index) t : u32) {
  let w = (wg.y * p.gridX + wg.x) * 256u + t;
  if (w >= p.rows * p.dstRowWords) { return; }
  let r = w / p.dstRowWords;
  let c = w % p.dstRowWords;
  let rowStart = p.srcOffset + r * p.blocksPerRow * p.blockBytes;
  var word = 0u;
  if (p.convert == 1u) {
    if (c < p.blocksPerRow) {
      let at = rowStart + c * p.blockBytes + p.fieldOffset;
      word = f16ToF32Bits(srcByte(at) | (srcByte(at + 1u) << 8u));
    }
  } else {
    for (var i = 0u; i < 4u; i++) {
      let b = 4u * c + i; // byte of the region's row
      if (b < p.blocksPerRow * p.fieldBytes) {
        word |= srcByte(rowStart + (b / p.fieldBytes) * p.blockBytes + p.fieldOffset + b % p.fieldBytes) << (8u * i);
      }
    }
  }
  dst[(p.dstFirstRow + r) * p.dstRowWords + c] = word;
}
