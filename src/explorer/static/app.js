// greenledger explorer: shared helpers. Verification runs in verify.wasm, built from the same
// Rust code as `greenledger verify` (tools/wasm-verify); this file only moves text in and out.
"use strict";

let verifier = null;

// Loads verify.wasm from this server. The module imports nothing it uses; the few imports a
// dependency declares (wasm-bindgen placeholders) get functions that throw if ever called.
async function loadVerifier() {
  if (verifier) return verifier;
  const bytes = await (await fetch("/static/verify.wasm")).arrayBuffer();
  const module = await WebAssembly.compile(bytes);
  const imports = {};
  for (const imp of WebAssembly.Module.imports(module)) {
    imports[imp.module] = imports[imp.module] || {};
    imports[imp.module][imp.name] = () => { throw new Error("verify.wasm called " + imp.module + "." + imp.name); };
  }
  const instance = await WebAssembly.instantiate(module, imports);
  verifier = instance.exports;
  return verifier;
}

// kind: "proof" or "statement". Returns {ok, lines} or {ok: false, check}.
async function verifyText(kind, text, key) {
  const w = await loadVerifier();
  const enc = new TextEncoder();
  const put = (s) => {
    const b = enc.encode(s);
    const p = w.alloc(b.length);
    new Uint8Array(w.memory.buffer, p, b.length).set(b);
    return [p, b.length];
  };
  const [tp, tl] = put(text);
  const [kp, kl] = put(key);
  const r = (kind === "proof" ? w.verify_proof : w.verify_statement)(tp, tl, kp, kl);
  const n = new DataView(w.memory.buffer).getUint32(r, true);
  const json = new TextDecoder().decode(new Uint8Array(w.memory.buffer, r + 4, n));
  w.dealloc(r, n + 4);
  w.dealloc(tp, tl);
  w.dealloc(kp, kl);
  return JSON.parse(json);
}

// A signed note (a statement) has signature lines after a blank line, each starting with an
// em dash; anything else is taken as a proof bundle.
function kindOf(text) {
  return /\n\n\u2014 /.test(text) ? "statement" : "proof";
}

async function api(path) {
  const r = await fetch(path);
  const body = await r.json();
  if (!r.ok) throw new Error(body.error || r.status);
  return body;
}

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
}

// Shows a verifier result in `box`.
function showResult(box, r) {
  box.replaceChildren();
  if (r.ok) {
    box.className = "result ok";
    box.append(el("h2", { id: "verdict" }, "VERIFIED 已核验"));
    const ul = el("ul");
    for (const line of r.lines) ul.append(el("li", {}, line));
    box.append(ul);
  } else {
    box.className = "result bad";
    box.append(el("h2", { id: "verdict" }, "REFUSED 未通过"));
    box.append(el("p", { id: "check" }, "check failed 未通过的检查: " + r.check));
  }
}

// base64url (no padding) of UTF-8 text, and back.
function fromB64url(s) {
  const b = atob(s.replace(/-/g, "+").replace(/_/g, "/"));
  return new TextDecoder().decode(Uint8Array.from(b, (c) => c.charCodeAt(0)));
}

async function logKey() {
  return (await api("/api/checkpoint")).log_key;
}
