// Quest page selection: for each KV head, the top-k pages by pageScore (k = min(pageBudget - 1, nScored)), then the
// last page, which is always read and counts against the budget. Output page indices ascend; ties at the k-th
// score go to the lowest page index, so the GPU and the float64 reference agree exactly. Nothing is read back.
//
// One workgroup per KV head: a head has a few thousand scores at most (8192 at 128K tokens), so what costs is the
// chain of dependent steps, not the reads. The scores are read once, as order-preserving u32 keys, into workgroup
// memory (keys past CACHE are read again from memory when needed); their min and max give the high bits every key
// shares; a radix select then resolves the k-th largest key 8 bits a pass below those, stopping early when the
// digit it lands on is taken whole; an index-ordered compaction writes the pages above the threshold and the
// first ties. Every scan is parallel (Hillis-Steele in workgroup memory), and each thread adds its run of equal
// digits to the histogram with one atomic, so scores crowded into a few bins do not serialize on them.

struct Params {
  nScored : u32,     // pages that were scored: 0 .. nScored-1; page nScored is the last page
  pageBudget : u32,  // pages read per KV head, the last page included
  maxPages : u32,    // row stride of pageScore and pageIds
}

@group(0) @binding(0) var<storage, read> pageScore : array<f32>;          // (kvHeads, maxPages)
@group(0) @binding(1) var<storage, read_write> pageIds : array<u32>;      // (kvHeads, maxPages) logical pages, ascending
@group(0) @binding(2) var<storage, read_write> pageCount : array<u32>;    // (kvHeads) entries of pageIds used
@group(0) @binding(3) var<uniform> p : Params;

override WG : u32 = 256u;       // threads: a power of two
override CACHE : u32 = 4096u;   // keys held in workgroup memory
const BINS = 256u;              // one radix digit: 8 bits

var<workgroup> keys : array<u32, CACHE>;            // (min(nScored, CACHE)) orderKey of each page's score
var<workgroup> hist : array<atomic<u32>, BINS>;     // keys per digit in this pass
var<workgroup> scan : array<vec2<u32>, WG>;         // per thread: scan and reduction scratch
var<workgroup> found : vec4<u32>;                   // what one thread found for all: (min, max) or (digit, need, whole)

// Maps f32 to u32 so that unsigned order equals float order; -0 is +0 (they tie, as in the reference), NaNs sort
// beyond ±infinity by their sign.
fn orderKey(x : f32) -> u32 {
  let u = select(bitcast<u32>(x), 0u, bitcast<u32>(x) == 0x80000000u);
  return select(u | 0x80000000u, ~u, (u & 0x80000000u) != 0u);
}

fn keyAt(row : u32, i : u32) -> u32 {
  if (i < CACHE) { return keys[i]; }
  return orderKey(pageScore[row + i]);
}

// The bits at and above `bit` (none when bit is 32).
fn highMask(bit : u32) -> u32 {
  return select(~((1u << bit) - 1u), 0u, bit >= 32u);
}

// Inclusive prefix sums of v over threads 0..t. Call from uniform control flow.
fn scanInclusive(t : u32, v : vec2<u32>) -> vec2<u32> {
  scan[t] = v;
  workgroupBarrier();
  for (var off = 1u; off < WG; off <<= 1u) {
    var add = vec2<u32>(0u);
    if (t >= off) { add = scan[t - off]; }
    workgroupBarrier();
    scan[t] += add;
    workgroupBarrier();
  }
  let r = scan[t];
  workgroupBarrier();   // scan is free again
  return r;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg : vec3<u32>, @builtin(local_invocation_index) t : u32) {
  let kvHead = wg.x;
  let n = p.nScored;
  let k = min(p.pageBudget - 1u, n);
  let row = kvHead * p.maxPages;
  let takeAll = k == n;   // every scored page fits: no threshold needed

  // Pages with key > threshold are taken, and the first `need` pages with key == threshold.
  var threshold = 0u;
  var need = 0u;
  if (k > 0u && !takeAll) {
    // The keys into workgroup memory, and their range.
    var lo = 0xffffffffu;
    var hi = 0u;
    for (var i = t; i < n; i += WG) {
      let key = orderKey(pageScore[row + i]);
      if (i < CACHE) { keys[i] = key; }
      lo = min(lo, key);
      hi = max(hi, key);
    }
    scan[t] = vec2<u32>(lo, hi);
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
      if (t < s) {
        let o = scan[t + s];
        scan[t] = vec2<u32>(min(scan[t].x, o.x), max(scan[t].y, o.y));
      }
      workgroupBarrier();
    }
    if (t == 0u) { found = vec4<u32>(scan[0], 0u, 0u); }
    let range = workgroupUniformLoad(&found).xy;

    // Radix select of the k-th largest key over the `bits` low bits where keys differ.
    var bits = 0u;
    if (range.x != range.y) { bits = firstLeadingBit(range.x ^ range.y) + 1u; }
    var prefix = range.x & highMask(bits);   // the threshold's bits resolved so far
    need = k;
    var whole = false;
    loop {
      if (bits == 0u) { break; }
      let width = min(8u, bits);
      let shift = bits - width;
      for (var b = t; b < BINS; b += WG) { atomicStore(&hist[b], 0u); }
      workgroupBarrier();
      let mask = highMask(bits);
      var last = 0u;
      var run = 0u;
      for (var i = t; i < n; i += WG) {
        let key = keyAt(row, i);
        if ((key & mask) == prefix) {
          let digit = (key >> shift) & ((1u << width) - 1u);
          if (digit != last && run > 0u) {
            atomicAdd(&hist[last], run);
            run = 0u;
          }
          last = digit;
          run++;
        }
      }
      if (run > 0u) { atomicAdd(&hist[last], run); }
      workgroupBarrier();
      // Thread t owns `per` consecutive bins counted from the largest digit down (none past BINS).
      let per = max(1u, BINS / WG);
      var own = 0u;
      for (var j = 0u; j < per && t * per + j < BINS; j++) { own += atomicLoad(&hist[BINS - 1u - (t * per + j)]); }
      let upTo = scanInclusive(t, vec2<u32>(own, 0u)).x;   // keys in this thread's bins and every larger one
      var above = upTo - own;
      if (above < need && upTo >= need) {
        for (var j = 0u; j < per && t * per + j < BINS; j++) {
          let digit = BINS - 1u - (t * per + j);
          let c = atomicLoad(&hist[digit]);
          if (above + c >= need) {
            found = vec4<u32>(digit, need - above, select(0u, 1u, above + c == need), 0u);
            break;
          }
          above += c;
        }
      }
      let f = workgroupUniformLoad(&found);
      prefix |= f.x << shift;
      bits = shift;
      need = f.y;
      if (f.z == 1u) {
        whole = true;
        break;
      }
    }
    if (whole) {
      // The digit's bin is taken whole: exactly the keys >= prefix (prefix > 0, as some smaller key is left out).
      threshold = prefix - 1u;
      need = 0u;
    } else {
      threshold = prefix;
    }
  }

  // Index-ordered compaction: thread t owns pages [t*span, (t+1)*span).
  if (k > 0u) {
    let span = (n + WG - 1u) / WG;
    let lo = min(t * span, n);
    let hi = min(lo + span, n);
    var own = vec2<u32>(hi - lo, 0u);   // (pages above the threshold, pages equal to it)
    if (!takeAll) {
      own = vec2<u32>(0u);
      for (var i = lo; i < hi; i++) {
        let key = keyAt(row, i);
        if (key > threshold) { own.x++; } else if (key == threshold) { own.y++; }
      }
    }
    let before = scanInclusive(t, own) - own;
    var eqBefore = before.y;
    var slot = row + before.x + min(eqBefore, need);
    for (var i = lo; i < hi; i++) {
      var take = takeAll;
      if (!takeAll) {
        let key = keyAt(row, i);
        take = key > threshold;
        if (key == threshold) {
          take = eqBefore < need;
          eqBefore++;
        }
      }
      if (take) {
        pageIds[slot] = i;
        slot++;
      }
    }
  }
  if (t == 0u) {
    pageIds[row + k] = n;   // the last page
    pageCount[kvHead] = k + 1u;
  }
}
