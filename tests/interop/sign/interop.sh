#!/usr/bin/env bash
# Interoperability of `hubgate sign/verify` with the reference implementation (model-signing
# 1.1.1 from PyPI, pinned in requirements.txt, installed into .venv by scripts/setup.sh), both
# ways, for the key and certificate methods, plus shards and blake3 through the reference's
# Python API (its CLI always verifies with files/sha256). Keys and certificates are generated
# here with the OpenSSL CLI. Tampering must be caught by both implementations.
# Usage: interop.sh HUBGATE_BINARY REPO_ROOT
set -uo pipefail
hg=$1
root=$2
py=$root/.venv/bin/python
if ! "$py" -c "import model_signing" 2>/dev/null; then
  echo "FAIL: $py cannot import model_signing; run scripts/setup.sh" >&2
  exit 1
fi
# Reference CLI commands run in one long-lived Python process (ref_server.py), so the
# reference's imports are paid once; `ref ARGS...` behaves like `model_signing ARGS...`.
here=$(cd "$(dirname "$0")" && pwd)
ref() {
  printf '%q ' "$@" >&"${REF[1]}"
  printf '\n' >&"${REF[1]}"
  local answer
  read -r answer <&"${REF[0]}" || return 99
  return "${answer#rc }"
}
refpy() { "$py" -W ignore -c "$1"; }
export PYTHONWARNINGS=ignore

work=$(mktemp -d)
trap 'kill "${REF_PID:-}" 2>/dev/null; rm -rf "$work"' EXIT
cd "$work"
coproc REF { "$py" -W ignore -u "$here/ref_server.py" 2>"$work/ref-stderr.txt"; }
fails=0
pass() { echo "ok   $1"; }
bad() {
  echo "FAIL $1" >&2
  echo "     (reference stderr: $(tail -2 "$work/ref-stderr.txt" 2>/dev/null))" >&2
  fails=$((fails + 1))
}
# expect_ok NAME CMD...: command must exit 0. expect_fail NAME PATTERN CMD...: must exit
# non-zero, and (when PATTERN is not empty) its stderr must contain PATTERN.
expect_ok() {
  local name=$1; shift
  if "$@" >out.txt 2>err.txt; then pass "$name"; else bad "$name: $(tail -2 err.txt)"; fi
}
expect_fail() {
  local name=$1 pat=$2; shift 2
  if "$@" >out.txt 2>err.txt; then bad "$name: unexpectedly succeeded"; return; fi
  if [ -n "$pat" ] && ! grep -q -- "$pat" err.txt; then bad "$name: message lacks '$pat': $(tail -2 err.txt)"; return; fi
  pass "$name"
}

# ---- keys and PKI (OpenSSL CLI) ----
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out k256.pem 2>/dev/null
openssl pkey -in k256.pem -pubout -out k256.pub
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out k384.pem 2>/dev/null
openssl pkey -in k384.pem -pubout -out k384.pub
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out other.pem 2>/dev/null
openssl pkey -in other.pem -pubout -out other.pub
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes -keyout ca.key -out ca.pem -days 30 \
  -subj /CN=hubgate-test-root -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes -keyout int.key -out int.csr -subj /CN=hubgate-test-int 2>/dev/null
printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign\n' > int.ext
openssl x509 -req -in int.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out int.pem -days 30 -extfile int.ext 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf.key -out leaf.csr -subj /CN=hubgate-test-signer 2>/dev/null
printf 'keyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n' > leaf.ext
openssl x509 -req -in leaf.csr -CA int.pem -CAkey int.key -CAcreateserial -out leaf.pem -days 30 -extfile leaf.ext 2>/dev/null
printf 'keyUsage=critical,keyEncipherment\n' > noleaf.ext
openssl x509 -req -in leaf.csr -CA int.pem -CAkey int.key -CAcreateserial -out noleaf.pem -days 30 -extfile noleaf.ext 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout other-ca.key -out other-ca.pem -days 30 \
  -subj /CN=other-root 2>/dev/null
for f in k256.pem k384.pem ca.pem int.pem leaf.pem noleaf.pem other-ca.pem; do
  [ -s "$f" ] || { echo "FAIL: openssl did not produce $f" >&2; exit 1; }
done

# ---- a model ----
fresh_model() {
  rm -rf m && mkdir -p m/sub/deeper m/.git
  printf '{"model_type": "test"}\n' > m/config.json
  head -c 70000 /dev/urandom > m/sub/weights.bin
  printf 'a\nb\n' > m/sub/deeper/vocab.txt
  : > m/empty.txt
  printf '* -text\n' > m/.gitattributes
  printf 'ref: refs/heads/main\n' > m/.git/HEAD
  printf 'scratch\n' > m/skip.txt
}
flip() { printf 'Z' | dd of="$1" bs=1 seek="${2:-100}" conv=notrunc 2>/dev/null; }

# ---- 1. reference signs (key), hubgate verifies ----
fresh_model
expect_ok "reference sign key (P-256)" ref sign key m --private_key k256.pem --signature m/model.sig --ignore-paths m/skip.txt
expect_ok "hubgate verifies reference key bundle" "$hg" verify key m --signature m/model.sig --public-key k256.pub
expect_fail "hubgate: reference bundle, wrong key" "key mismatch" "$hg" verify key m --signature m/model.sig --public-key other.pub
flip m/sub/weights.bin 1000
expect_fail "hubgate catches tamper (reference key bundle)" "hash mismatch for 'sub/weights.bin'" \
  "$hg" verify key m --signature m/model.sig --public-key k256.pub
expect_fail "reference catches the same tamper" "" ref verify key m --signature m/model.sig --public_key k256.pub

# ---- 2. hubgate signs (key), reference verifies ----
for curve in 256 384; do
  fresh_model
  expect_ok "hubgate sign key (P-$curve)" "$hg" sign key m --private-key k$curve.pem --signature m/model.sig --ignore-paths m/skip.txt
  expect_ok "reference verifies hubgate key bundle (P-$curve)" ref verify key m --signature m/model.sig --public_key k$curve.pub
  expect_ok "hubgate verifies its own bundle (P-$curve)" "$hg" verify key m --signature m/model.sig --public-key k$curve.pub
  printf 'new\n' > m/sub/added.txt
  expect_fail "reference catches an added file (P-$curve)" "" ref verify key m --signature m/model.sig --public_key k$curve.pub
  expect_fail "hubgate catches an added file (P-$curve)" "extra unsigned files in model: 'sub/added.txt'" \
    "$hg" verify key m --signature m/model.sig --public-key k$curve.pub
  expect_ok "reference accepts it with --ignore_unsigned_files" ref verify key m --signature m/model.sig \
    --public_key k$curve.pub --ignore_unsigned_files
  expect_ok "hubgate accepts it with --ignore-unsigned-files" "$hg" verify key m --signature m/model.sig \
    --public-key k$curve.pub --ignore-unsigned-files
  rm m/sub/added.txt
  mv m/config.json m/config2.json
  expect_fail "reference catches a rename (P-$curve)" "" ref verify key m --signature m/model.sig --public_key k$curve.pub
  expect_fail "hubgate catches a rename (P-$curve)" "missing signed files: 'config.json'" \
    "$hg" verify key m --signature m/model.sig --public-key k$curve.pub
done

# ---- 3. certificates both ways ----
fresh_model
expect_ok "reference sign certificate" ref sign certificate m --private_key leaf.key --signing_certificate leaf.pem \
  --certificate_chain int.pem --signature m/model.sig --ignore-paths m/skip.txt
expect_ok "hubgate verifies reference certificate bundle" "$hg" verify certificate m --signature m/model.sig \
  --certificate-chain ca.pem
expect_fail "hubgate: reference certificate bundle, other root" "certificate chain does not verify" \
  "$hg" verify certificate m --signature m/model.sig --certificate-chain other-ca.pem
rm m/empty.txt
expect_fail "hubgate catches a removed file (reference certificate bundle)" "missing signed files: 'empty.txt'" \
  "$hg" verify certificate m --signature m/model.sig --certificate-chain ca.pem
expect_fail "reference catches the removed file" "" ref verify certificate m --signature m/model.sig --certificate_chain ca.pem

fresh_model
expect_ok "hubgate sign certificate" "$hg" sign certificate m --private-key leaf.key --signing-certificate leaf.pem \
  --certificate-chain int.pem --signature m/model.sig --ignore-paths m/skip.txt
expect_ok "reference verifies hubgate certificate bundle" ref verify certificate m --signature m/model.sig \
  --certificate_chain ca.pem
expect_fail "reference: hubgate certificate bundle, other root" "" ref verify certificate m --signature m/model.sig \
  --certificate_chain other-ca.pem
flip m/config.json 3
expect_fail "reference catches tamper (hubgate certificate bundle)" "" ref verify certificate m --signature m/model.sig \
  --certificate_chain ca.pem
expect_fail "hubgate catches tamper (hubgate certificate bundle)" "hash mismatch for 'config.json'" \
  "$hg" verify certificate m --signature m/model.sig --certificate-chain ca.pem

fresh_model
expect_ok "hubgate sign with a leaf lacking digitalSignature" "$hg" sign certificate m --private-key leaf.key \
  --signing-certificate noleaf.pem --certificate-chain int.pem --signature m/model.sig
expect_fail "reference refuses that leaf" "" ref verify certificate m --signature m/model.sig --certificate_chain ca.pem
expect_fail "hubgate refuses that leaf" "cannot be used for signing" "$hg" verify certificate m --signature m/model.sig \
  --certificate-chain ca.pem

# ---- 4. shards and blake3 through the reference API ----
fresh_model
rm m/skip.txt
refpy "
import model_signing as ms
ms.signing.Config().use_elliptic_key_signer(private_key='k256.pem').set_hashing_config(
    ms.hashing.Config().use_shard_serialization(shard_size=16384)).sign('m', 'ref-shards.sig')
ms.signing.Config().use_elliptic_key_signer(private_key='k256.pem').set_hashing_config(
    ms.hashing.Config().use_file_serialization(hashing_algorithm='blake3')).sign('m', 'ref-blake3.sig')
" 2>err.txt && pass "reference signs shards and blake3" || bad "reference signs shards and blake3: $(tail -2 err.txt)"
expect_ok "hubgate verifies reference shards bundle" "$hg" verify key m --signature ref-shards.sig --public-key k256.pub
expect_ok "hubgate verifies reference blake3 bundle" "$hg" verify key m --signature ref-blake3.sig --public-key k256.pub
expect_ok "hubgate sign shards" "$hg" sign key m --private-key k256.pem --signature hg-shards.sig --method shards --shard-size 16384
expect_ok "hubgate sign blake3" "$hg" sign key m --private-key k256.pem --signature hg-blake3.sig --hash blake3
verify_api() {
  refpy "
import model_signing as ms
ms.verifying.Config().use_elliptic_key_verifier(public_key='k256.pub').verify('m', '$1')
"
}
expect_ok "reference verifies hubgate shards bundle" verify_api hg-shards.sig
expect_ok "reference verifies hubgate blake3 bundle" verify_api hg-blake3.sig
flip m/sub/weights.bin 40000
expect_fail "hubgate catches tamper in one shard" "hash mismatch for 'sub/weights.bin:32768:49152'" \
  "$hg" verify key m --signature ref-shards.sig --public-key k256.pub
expect_fail "reference catches tamper in the hubgate shards bundle" "" verify_api hg-shards.sig
expect_fail "hubgate catches tamper (blake3)" "hash mismatch for 'sub/weights.bin'" \
  "$hg" verify key m --signature ref-blake3.sig --public-key k256.pub
expect_fail "reference catches tamper in the hubgate blake3 bundle" "" verify_api hg-blake3.sig

# ---- 5. a single-file model (resource name ".") both ways ----
head -c 3000 /dev/urandom > single.safetensors
expect_ok "reference sign single file" ref sign key single.safetensors --private_key k384.pem --signature single-ref.sig
expect_ok "hubgate verifies reference single-file bundle" "$hg" verify key single.safetensors --signature single-ref.sig \
  --public-key k384.pub
expect_ok "hubgate sign single file" "$hg" sign key single.safetensors --private-key k384.pem --signature single-hg.sig
expect_ok "reference verifies hubgate single-file bundle" ref verify key single.safetensors --signature single-hg.sig \
  --public_key k384.pub
flip single.safetensors 10
expect_fail "hubgate catches single-file tamper" "hash mismatch for '.'" "$hg" verify key single.safetensors \
  --signature single-ref.sig --public-key k384.pub
expect_fail "reference catches single-file tamper" "" ref verify key single.safetensors --signature single-hg.sig \
  --public_key k384.pub

# ---- 6. digests agree ----
fresh_model
ref_digest=$(refpy "
import model_signing as ms, hashlib
m = ms.hashing.Config().set_ignored_paths(paths=['skip.txt']).hash('m')
h = hashlib.sha256()
for rd in m.resource_descriptors(): h.update(rd.digest.digest_value)
print(h.hexdigest())
" 2>err.txt)
hg_digest=$("$hg" digest m --ignore-paths m/skip.txt 2>>err.txt)
if [ -n "$ref_digest" ] && [ "$ref_digest" = "$hg_digest" ]; then pass "digest equals the reference's ($hg_digest)"
else bad "digest: reference '$ref_digest' vs hubgate '$hg_digest'"; fi

echo "$fails failure(s)"
[ "$fails" -eq 0 ]
