// Shared by the donor page and the admin panel: building elements without innerHTML (so
// nothing a donor or an admin typed can become markup), calling the API, money, keys.
"use strict";

const cfa = (() => {
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === false || value === null || value === undefined) continue;
      if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
      else if (value === true) el.setAttribute(name, "");
      else el.setAttribute(name, String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return el;
  }

  // A problem+json answer, or a network failure, as an Error with `status` and `problem`.
  class ApiError extends Error {
    constructor(status, problem, message) {
      super(message);
      this.status = status;
      this.problem = problem;
    }
  }

  async function api(method, path, { token, body, key } = {}) {
    const headers = { accept: "application/json" };
    if (token) headers.authorization = `Bearer ${token}`;
    if (key) headers["idempotency-key"] = key;
    if (body !== undefined) headers["content-type"] = "application/json";
    let response;
    try {
      response = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: "no-store",
      });
    } catch (e) {
      throw new ApiError(0, null, "The network is not answering. Check your connection and try again.");
    }
    if (response.status === 204) return null;
    const text = await response.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch (e) { json = null; }
    if (!response.ok) {
      const fields = json && Array.isArray(json.errors)
        ? " " + json.errors.map((f) => `${f.field}: ${f.message}`).join("; ")
        : "";
      const message = json && json.detail ? json.detail + fields : `The server answered ${response.status}.`;
      throw new ApiError(response.status, json, message);
    }
    return json;
  }

  const ZERO_DECIMAL = new Set(["JPY", "KRW", "VND", "CLP", "ISK", "UGX", "XAF", "XOF"]);
  const decimals = (currency) => (ZERO_DECIMAL.has(currency.toUpperCase()) ? 0 : 2);

  function money(minor, currency) {
    const d = decimals(currency);
    try {
      return new Intl.NumberFormat(undefined, { style: "currency", currency, minimumFractionDigits: d, maximumFractionDigits: d })
        .format(minor / 10 ** d);
    } catch (e) {
      return `${(minor / 10 ** d).toFixed(d)} ${currency}`;
    }
  }

  // "25", "25.5" or "25.50" in major units to minor units, exactly (no floating point);
  // null when it is not an amount of this currency.
  function toMinor(text, currency) {
    const d = decimals(currency);
    const match = /^\s*(\d{1,12})(?:[.,](\d+))?\s*$/.exec(text);
    if (!match) return null;
    const fraction = match[2] || "";
    if (fraction.length > d) return null;
    return Number(match[1]) * 10 ** d + Number(fraction.padEnd(d, "0") || 0);
  }

  // An idempotency key: 128 random bits (crypto.getRandomValues works on plain http too).
  function newKey(prefix) {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return prefix + "-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  const when = (ms) => new Date(ms).toLocaleString();

  function announce(text) {
    const region = document.getElementById("status");
    if (region) region.textContent = text;
  }

  // Replaces what `el` holds; null, undefined and false stand for nothing.
  function fill(el, ...children) {
    el.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  }

  // Replaces the page's main content and moves focus there, for screen readers.
  function show(...children) {
    const main = document.getElementById("main");
    fill(main, ...children);
    main.focus({ preventScroll: true });
    window.scrollTo(0, 0);
  }

  function stored(storage, name, fallback) {
    try {
      const raw = storage.getItem(name);
      return raw ? JSON.parse(raw) : fallback;
    } catch (e) {
      return fallback;
    }
  }

  function store(storage, name, value) {
    if (value === null || value === undefined) storage.removeItem(name);
    else storage.setItem(name, JSON.stringify(value));
  }

  return { h, fill, api, ApiError, money, toMinor, newKey, when, announce, show, stored, store };
})();
