// Checks the portable path of field.cuh and ec.cuh on the host, without a GPU:
// r * G is the identity for the G1 and G2 generators (which exercises
// Montgomery multiplication, addition, subtraction and every point formula
// thousands of times), doubling agrees with addition, and so on. Built and run
// by `cargo test` (cuda::tests); every line it prints must end in 1.
#include <cstdio>
#include <cstring>
#include "bn254.cuh"
static Fq from_u(unsigned v) { Fq a = fp_zero<FqParams>(); a.v[0]=v; // to Montgomery: mul by R^2
  Fq r2; const u32 R2[8]={0x538afa89,0xf32cfc5b,0xd44501fb,0xb5e71911,0x0a417ff6,0x47ab1eff,0xcab8351f,0x06d89f71};
  memcpy(r2.v,R2,32); return mul(a, r2);}
template<class F> Xyzz<F> mul_r(Xyzz<F> p) {
  const u32 R[8]={0xf0000001,0x43e1f593,0x79b97091,0x2833e848,0x8181585d,0xb85045b6,0xe131a029,0x30644e72};
  Xyzz<F> acc = xyzz_identity<F>();
  for (int b=255;b>=0;b--){ acc = xyzz_dbl(acc); if ((R[b/32]>>(b%32))&1) acc = xyzz_add(acc,p);} return acc; }
static Fq hexfq(const char* h){ // decimal not needed: parse 64 hex chars big-endian into canonical then to Montgomery
  Fq a=fp_zero<FqParams>(); for(int i=0;i<64;i++){int c=h[i]; int v= c<='9'?c-'0':c-'a'+10; int bit=(63-i)*4; a.v[bit/32] |= (u32)v<<(bit%32);} 
  Fq r2; const u32 R2[8]={0x538afa89,0xf32cfc5b,0xd44501fb,0xb5e71911,0x0a417ff6,0x47ab1eff,0xcab8351f,0x06d89f71}; memcpy(r2.v,R2,32); return mul(a,r2);}
int main(){
  Affine<Fq> g = {from_u(1), from_u(2)};
  Xyzz<Fq> G = from_affine(g);
  Xyzz<Fq> z = mul_r(G);
  printf("G1 r*G identity: %d\n", is_identity(z));
  Xyzz<Fq> t = xyzz_add(G, G), d = xyzz_dbl(G), m = xyzz_madd(G, g);
  // compare 2G via affine: x = X/ZZ -> cross-multiply
  printf("G1 add==dbl: %d madd==dbl: %d\n", eq(mul(t.x,d.zz),mul(d.x,t.zz)) && eq(mul(t.y,d.zzz),mul(d.y,t.zzz)), eq(mul(m.x,d.zz),mul(d.x,m.zz)));
  Xyzz<Fq> sm = xyzz_mul_small(G, 5), s5 = xyzz_add(xyzz_add(xyzz_dbl(xyzz_dbl(G)),G), xyzz_identity<Fq>());
  printf("5G: %d\n", eq(mul(sm.x,s5.zz),mul(s5.x,sm.zz)));
  Xyzz<Fq> neg_sum = xyzz_madd(G, Affine<Fq>{g.x, neg(g.y)});
  printf("G + (-G) identity: %d\n", is_identity(neg_sum));
  // G2 generator
  Fq2 x = {hexfq("1800deef121f1e76426a00665e5c4479674322d4f75edadd46debd5cd992f6ed"), hexfq("198e9393920d483a7260bfb731fb5d25f1aa493335a9e71297e485b7aef312c2")};
  Fq2 y = {hexfq("12c85ea5db8c6deb4aab71808dcb408fe3d1e7690c43d37b4ce6cc0166fa7daa"), hexfq("090689d0585ff075ec9e99ad690c3395bc4b313370b38ef355acdadcd122975b")};
  Affine<Fq2> g2 = {x, y};
  Xyzz<Fq2> G2 = from_affine(g2);
  printf("G2 r*G identity: %d\n", is_identity(mul_r(G2)));
  Xyzz<Fq2> t2 = xyzz_madd(from_affine(g2), g2), d2 = xyzz_dbl(G2);
  printf("G2 madd==dbl: %d\n", is_zero(sub(mul(t2.x,d2.zz),mul(d2.x,t2.zz))) && is_zero(sub(mul(t2.y,d2.zzz),mul(d2.y,t2.zzz))));
  Xyzz<Fq2> twoG = xyzz_dbl(G2); printf("G2 r*(2G) identity: %d; 2G not identity %d\n", is_identity(mul_r(twoG)), !is_identity(twoG));
  // Fr from montgomery of R mod r (i.e. 1) == 1
  Fr one = fp_one<FrParams>(); Fr c = from_montgomery(one); printf("Fr from_mont(1) == 1: %d\n", c.v[0] == 1 && c.v[1] == 0 && c.v[7] == 0);
}
