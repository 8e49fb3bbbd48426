import assert from 'node:assert/strict';
import { test } from 'node:test';
import { attentionDecodeKernel } from '../../gpu/kernels/attentionDecode';
import { attentionPrefillKernel } from '../../gpu/kernels/attentionPrefill';
import { kvAppendKernel } from '../../gpu/kernels/kvAppend';
import { kvKernel } from '../../gpu/kernels/kvKernel';

for (const def of [kvAppendKernel, attentionPrefillKernel, attentionDecodeKernel]) {
  test(`${def.name}: the f32 variant is the file as written, the f16 one starts with enable f16`, () => {
    const f32 = kvKernel(def, 'f32');
    const f16 = kvKernel(def, 'f16');
    assert.equal(f32.name, `${def.name}_f32`);
    assert.equal(f32.source, def.source);
    assert.equal(f16.name, `${def.name}_f16`);
    assert.match(f16.source, /^(\s*\/\/.*\n|\s*\n)*\/\/ kvType: f16\nenable f16;\nalias KvType = f16;\nconst KV_MAX : f32 = 65504\.0;/);
    assert.doesNotMatch(f16.source, /alias KvType = f32/);
    assert.equal(f16.source.match(/enable f16;/g)?.length, 1);
    assert.equal(kvKernel(def, 'f16'), f16, 'specialized once');
  });
}

test('kvKernel refuses a kernel whose kvType header is missing or not first', () => {
  const bindings = ['read'] as const;
  assert.throws(() => kvKernel({ name: 'x', source: 'fn f() {}\n', bindings }, 'f16'), /x\.wgsl: the kvType header must come first/);
  const late = 'const A = 1;\n// kvType: begin\nalias KvType = f32;\n// kvType: end\n';
  assert.throws(() => kvKernel({ name: 'y', source: late, bindings }, 'f16'), /y\.wgsl/);
});
