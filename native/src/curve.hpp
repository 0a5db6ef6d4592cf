// BN254 groups G1 (over Fq) and G2 (over Fq2), y² = x³ + b with a = 0.
//
// Points are Jacobian (X, Y, Z) ↔ affine (X/Z², Y/Z³); Z = 0 is the point at infinity. Affine
// points use (0, 0) for infinity, as snarkjs writes them into a .zkey. Formulas: the
// Explicit-Formulas Database's madd-2007-bl (mixed), add-2007-bl and dbl-2009-l (a = 0).
#pragma once
#include "field.hpp"

namespace modex {

template <class F>
struct Affine {
  F x, y;
  bool isInfinity() const { return x.isZero() && y.isZero(); }
  static Affine infinity() { return Affine{F::zero(), F::zero()}; }
};

template <class F>
struct Jacobian {
  F X, Y, Z;

  static Jacobian infinity() { return Jacobian{F::one(), F::one(), F::zero()}; }
  bool isInfinity() const { return Z.isZero(); }

  static Jacobian fromAffine(const Affine<F>& a) {
    if (a.isInfinity()) return infinity();
    return Jacobian{a.x, a.y, F::one()};
  }

  static Jacobian dbl(const Jacobian& p) {
    if (p.isInfinity()) return p;
    F A = F::sqr(p.X);
    F B = F::sqr(p.Y);
    F C = F::sqr(B);
    F D = F::sub(F::sub(F::sqr(F::add(p.X, B)), A), C);
    D = F::dbl(D);
    F E = F::add(F::dbl(A), A);
    F Fv = F::sqr(E);
    Jacobian r;
    r.X = F::sub(Fv, F::dbl(D));
    F C8 = F::dbl(F::dbl(F::dbl(C)));
    r.Y = F::sub(F::mul(E, F::sub(D, r.X)), C8);
    r.Z = F::dbl(F::mul(p.Y, p.Z));
    return r;
  }

  // p + q with q affine (not infinity-checked by the caller).
  static Jacobian addMixed(const Jacobian& p, const Affine<F>& q) {
    if (q.isInfinity()) return p;
    if (p.isInfinity()) return Jacobian{q.x, q.y, F::one()};
    F Z1Z1 = F::sqr(p.Z);
    F U2 = F::mul(q.x, Z1Z1);
    F S2 = F::mul(F::mul(q.y, p.Z), Z1Z1);
    F H = F::sub(U2, p.X);
    F rr = F::dbl(F::sub(S2, p.Y));
    if (H.isZero()) {
      if (rr.isZero()) return dbl(p);
      return infinity();
    }
    F HH = F::sqr(H);
    F I = F::dbl(F::dbl(HH));
    F J = F::mul(H, I);
    F V = F::mul(p.X, I);
    Jacobian r;
    r.X = F::sub(F::sub(F::sqr(rr), J), F::dbl(V));
    r.Y = F::sub(F::mul(rr, F::sub(V, r.X)), F::dbl(F::mul(p.Y, J)));
    r.Z = F::sub(F::sub(F::sqr(F::add(p.Z, H)), Z1Z1), HH);
    return r;
  }

  static Jacobian add(const Jacobian& p, const Jacobian& q) {
    if (p.isInfinity()) return q;
    if (q.isInfinity()) return p;
    F Z1Z1 = F::sqr(p.Z);
    F Z2Z2 = F::sqr(q.Z);
    F U1 = F::mul(p.X, Z2Z2);
    F U2 = F::mul(q.X, Z1Z1);
    F S1 = F::mul(F::mul(p.Y, q.Z), Z2Z2);
    F S2 = F::mul(F::mul(q.Y, p.Z), Z1Z1);
    F H = F::sub(U2, U1);
    F rr = F::dbl(F::sub(S2, S1));
    if (H.isZero()) {
      if (rr.isZero()) return dbl(p);
      return infinity();
    }
    F I = F::sqr(F::dbl(H));
    F J = F::mul(H, I);
    F V = F::mul(U1, I);
    Jacobian r;
    r.X = F::sub(F::sub(F::sqr(rr), J), F::dbl(V));
    r.Y = F::sub(F::mul(rr, F::sub(V, r.X)), F::dbl(F::mul(S1, J)));
    r.Z = F::mul(F::sub(F::sub(F::sqr(F::add(p.Z, q.Z)), Z1Z1), Z2Z2), H);
    return r;
  }

  static Jacobian neg(const Jacobian& p) { return Jacobian{p.X, F::neg(p.Y), p.Z}; }

  Affine<F> toAffine() const {
    if (isInfinity()) return Affine<F>::infinity();
    F zi = F::inv(Z);
    F zi2 = F::sqr(zi);
    return Affine<F>{F::mul(X, zi2), F::mul(Y, F::mul(zi2, zi))};
  }

  // k·p for a standard-form 256-bit scalar (double-and-add; used a handful of times per proof).
  static Jacobian mulScalar(const Jacobian& p, const uint64_t k[4]) {
    Jacobian r = infinity();
    for (int i = 3; i >= 0; i--) {
      for (int b = 63; b >= 0; b--) {
        r = dbl(r);
        if ((k[i] >> b) & 1) r = add(r, p);
      }
    }
    return r;
  }
};

typedef Affine<Fq> G1Affine;
typedef Jacobian<Fq> G1;
typedef Affine<Fq2> G2Affine;
typedef Jacobian<Fq2> G2;

}  // namespace modex
