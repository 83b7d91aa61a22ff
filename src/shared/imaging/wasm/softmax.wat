;; Softmax over class planes and its normalised entropy, four pixels at a time (WebAssembly
;; 128-bit SIMD), for the multi-class post-processing without TTA (multiclass.ts
;; softmaxLetterbox). The same computation as softmaxPlanes in multiclass.ts, in float32:
;;   per pixel, m = max_c l_c, d_c = l_c − m, e_c = exp(d_c) (0 where d_c < −30),
;;   S = Σ e_c, p_c = e_c / S written in place, H = (ln S − Σ e_c d_c / S) / ln C.
;; exp and ln are the Cephes single-precision algorithms (S. L. Moshier, Cephes Math Library,
;; expf.c and logf.c: Cody–Waite range reduction by ln 2 and their minimax polynomials), each
;; within about 2 ulp of float32 on the ranges used here (d ∈ [−30, 0], S ∈ [1, C]).
;; Built into softmax-wasm.ts by scripts/build-wasm.mjs (wabt's wat2wasm).
(module
  (memory (export "memory") 1)

  ;; e^d for d ≤ 0, and 0 where d < −30 (the JavaScript path's FAR cut-off).
  (func $exp_far (param $d v128) (result v128)
    (local $n v128) (local $r v128) (local $p v128) (local $z v128)
    ;; n = round(d · log2 e); r = d − n · ln 2 in two parts (Cody–Waite)
    (local.set $n (f32x4.nearest (f32x4.mul (local.get $d) (v128.const f32x4 1.44269504088896341 1.44269504088896341 1.44269504088896341 1.44269504088896341))))
    (local.set $r (f32x4.sub (local.get $d) (f32x4.mul (local.get $n) (v128.const f32x4 0.693359375 0.693359375 0.693359375 0.693359375))))
    (local.set $r (f32x4.sub (local.get $r) (f32x4.mul (local.get $n) (v128.const f32x4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4))))
    ;; e^r = 1 + r + r² · P(r)
    (local.set $z (f32x4.mul (local.get $r) (local.get $r)))
    (local.set $p (v128.const f32x4 1.9875691500e-4 1.9875691500e-4 1.9875691500e-4 1.9875691500e-4))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (v128.const f32x4 1.3981999507e-3 1.3981999507e-3 1.3981999507e-3 1.3981999507e-3)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (v128.const f32x4 8.3334519073e-3 8.3334519073e-3 8.3334519073e-3 8.3334519073e-3)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (v128.const f32x4 4.1665795894e-2 4.1665795894e-2 4.1665795894e-2 4.1665795894e-2)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (v128.const f32x4 1.6666665459e-1 1.6666665459e-1 1.6666665459e-1 1.6666665459e-1)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (v128.const f32x4 5.0000001201e-1 5.0000001201e-1 5.0000001201e-1 5.0000001201e-1)))
    (local.set $p (f32x4.add (f32x4.add (f32x4.mul (local.get $p) (local.get $z)) (local.get $r)) (v128.const f32x4 1 1 1 1)))
    ;; × 2^n, built in the exponent field (n ≥ −44 here: a normal float)
    (local.set $p (f32x4.mul (local.get $p)
      (i32x4.shl (i32x4.add (i32x4.trunc_sat_f32x4_s (local.get $n)) (v128.const i32x4 127 127 127 127)) (i32.const 23))))
    (v128.and (local.get $p) (f32x4.ge (local.get $d) (v128.const f32x4 -30 -30 -30 -30))))

  ;; ln s for s ≥ 1 (a softmax denominator).
  (func $log (param $s v128) (result v128)
    (local $e v128) (local $m v128) (local $big v128) (local $x v128) (local $z v128) (local $y v128) (local $ef v128)
    ;; s = m · 2^e with m in [1, 2); then m in [√½, √2) and x = m − 1
    (local.set $e (i32x4.sub (i32x4.shr_u (local.get $s) (i32.const 23)) (v128.const i32x4 127 127 127 127)))
    (local.set $m (v128.or (v128.and (local.get $s) (v128.const i32x4 0x007fffff 0x007fffff 0x007fffff 0x007fffff)) (v128.const i32x4 0x3f800000 0x3f800000 0x3f800000 0x3f800000)))
    (local.set $big (f32x4.gt (local.get $m) (v128.const f32x4 1.41421356237 1.41421356237 1.41421356237 1.41421356237)))
    (local.set $m (v128.bitselect (f32x4.mul (local.get $m) (v128.const f32x4 0.5 0.5 0.5 0.5)) (local.get $m) (local.get $big)))
    (local.set $e (i32x4.sub (local.get $e) (local.get $big)))
    (local.set $ef (f32x4.convert_i32x4_s (local.get $e)))
    (local.set $x (f32x4.sub (local.get $m) (v128.const f32x4 1 1 1 1)))
    (local.set $z (f32x4.mul (local.get $x) (local.get $x)))
    (local.set $y (v128.const f32x4 7.0376836292e-2 7.0376836292e-2 7.0376836292e-2 7.0376836292e-2))
    (local.set $y (f32x4.add (f32x4.mul (local.get $y) (local.get $x)) (v128.const f32x4 -1.1514610310e-1 -1.1514610310e-1 -1.1514610310e-1 -1.1514610310e-1)))
    (local.set $y (f32x4.add (f32x4.mul (local.get $y) (local.get $x)) (v128.const f32x4 1.1676998740e-1 1.1676998740e-1 1.1676998740e-1 1.1676998740e-1)))
    (local.set $y (f32x4.add (f32x4.mul (local.get $y) (local.get $x)) (v128.const f32x4 -1.2420140846e-1 -1.2420140846e-1 -1.2420140846e-1 -1.2420140846e-1)))
    (local.set $y (f32x4.add (f32x4.mul (local.get $y) (local.get $x)) (v128.const f32x4 1.4249322787e-1 1.4249322787e-1 1.4249322787e-1 1.4249322787e-1)))
    (local.set $y (f32x4.add (f32x4.mul (local.get $y) (local.get $x)) (v128.const f32x4 -1.6668057665e-1 -1.6668057665e-1 -1.6668057665e-1 -1.6668057665e-1)))
    (local.set $y (f32x4.add (f32x4.mul (local.get $y) (local.get $x)) (v128.const f32x4 2.0000714765e-1 2.0000714765e-1 2.0000714765e-1 2.0000714765e-1)))
    (local.set $y (f32x4.add (f32x4.mul (local.get $y) (local.get $x)) (v128.const f32x4 -2.4999993993e-1 -2.4999993993e-1 -2.4999993993e-1 -2.4999993993e-1)))
    (local.set $y (f32x4.add (f32x4.mul (local.get $y) (local.get $x)) (v128.const f32x4 3.3333331174e-1 3.3333331174e-1 3.3333331174e-1 3.3333331174e-1)))
    (local.set $y (f32x4.mul (f32x4.mul (local.get $y) (local.get $x)) (local.get $z)))
    (local.set $y (f32x4.add (local.get $y) (f32x4.mul (local.get $ef) (v128.const f32x4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4))))
    (local.set $y (f32x4.sub (local.get $y) (f32x4.mul (local.get $z) (v128.const f32x4 0.5 0.5 0.5 0.5))))
    (f32x4.add (f32x4.add (local.get $x) (local.get $y)) (f32x4.mul (local.get $ef) (v128.const f32x4 0.693359375 0.693359375 0.693359375 0.693359375))))

  ;; In place on `classes` planes of `plane` float32 values at byte address `base`, for the
  ;; pixels from … from + count − 1 (count a multiple of 4): the softmax; returns the sum over
  ;; those pixels of the entropy times `norm` (1 / ln C).
  (func (export "softmax") (param $base i32) (param $classes i32) (param $plane i32) (param $from i32) (param $count i32) (param $norm f32) (result f64)
    (local $a i32) (local $end i32) (local $stride i32) (local $c i32) (local $q i32)
    (local $max v128) (local $sum v128) (local $w v128) (local $d v128) (local $e v128) (local $inv v128) (local $total v128)
    (local.set $stride (i32.shl (local.get $plane) (i32.const 2)))
    (local.set $a (i32.add (local.get $base) (i32.shl (local.get $from) (i32.const 2))))
    (local.set $end (i32.add (local.get $a) (i32.shl (local.get $count) (i32.const 2))))
    (block $done
      (loop $pixels
        (br_if $done (i32.ge_u (local.get $a) (local.get $end)))
        ;; the top logit
        (local.set $max (v128.load (local.get $a)))
        (local.set $q (local.get $a))
        (local.set $c (i32.const 1))
        (block $m_end (loop $m
          (br_if $m_end (i32.ge_u (local.get $c) (local.get $classes)))
          (local.set $q (i32.add (local.get $q) (local.get $stride)))
          (local.set $max (f32x4.max (local.get $max) (v128.load (local.get $q))))
          (local.set $c (i32.add (local.get $c) (i32.const 1)))
          (br $m)))
        ;; exponentials, their sum and Σ e·d
        (local.set $sum (v128.const f32x4 0 0 0 0))
        (local.set $w (v128.const f32x4 0 0 0 0))
        (local.set $q (local.get $a))
        (local.set $c (i32.const 0))
        (block $e_end (loop $ex
          (br_if $e_end (i32.ge_u (local.get $c) (local.get $classes)))
          (local.set $d (f32x4.sub (v128.load (local.get $q)) (local.get $max)))
          (local.set $e (call $exp_far (local.get $d)))
          (v128.store (local.get $q) (local.get $e))
          (local.set $sum (f32x4.add (local.get $sum) (local.get $e)))
          (local.set $w (f32x4.add (local.get $w) (f32x4.mul (local.get $e) (local.get $d))))
          (local.set $q (i32.add (local.get $q) (local.get $stride)))
          (local.set $c (i32.add (local.get $c) (i32.const 1)))
          (br $ex)))
        ;; normalise
        (local.set $inv (f32x4.div (v128.const f32x4 1 1 1 1) (local.get $sum)))
        (local.set $q (local.get $a))
        (local.set $c (i32.const 0))
        (block $n_end (loop $nm
          (br_if $n_end (i32.ge_u (local.get $c) (local.get $classes)))
          (v128.store (local.get $q) (f32x4.mul (v128.load (local.get $q)) (local.get $inv)))
          (local.set $q (i32.add (local.get $q) (local.get $stride)))
          (local.set $c (i32.add (local.get $c) (i32.const 1)))
          (br $nm)))
        ;; H = ln S − Σ e·d / S
        (local.set $total (f32x4.add (local.get $total)
          (f32x4.sub (call $log (local.get $sum)) (f32x4.mul (local.get $w) (local.get $inv)))))
        (local.set $a (i32.add (local.get $a) (i32.const 16)))
        (br $pixels)))
    (f64.mul
      (f64.add
        (f64.add (f64.promote_f32 (f32x4.extract_lane 0 (local.get $total))) (f64.promote_f32 (f32x4.extract_lane 1 (local.get $total))))
        (f64.add (f64.promote_f32 (f32x4.extract_lane 2 (local.get $total))) (f64.promote_f32 (f32x4.extract_lane 3 (local.get $total)))))
      (f64.promote_f32 (local.get $norm))))
)
