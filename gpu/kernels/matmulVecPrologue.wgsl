// What a decode matvec (matmulVec*.wgsl) does before its dot products when x is used as bound: nothing. matmul.ts
// composes this file, or matmulVecNorm.wgsl when the op fuses an RMSNorm, before the type's kernel; the entry point
// (matmulVecEpilogue.wgsl) calls prologue(t) first, in uniform control flow.

fn prologue(t : u32) {}
