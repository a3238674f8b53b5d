// Step executor for stripe-node (17.x and 23.x): one JSON request per line on stdin, one JSON
// answer per line on stdout. Usage: node node_runner.js <env dir holding node_modules/stripe>.
// Same protocol as py_runner.py:
//   {"cmd":"hello"} | {"cmd":"client","api_key","base","api_version"}
//   {"cmd":"call","path":"customers.create","args":[],"params":{},"options":{},"paging":null|"auto"}
//   {"cmd":"raw","method":"post","path":"/v1/...","params":{},"options":{}}
// Generic options: idempotency_key, api_version, api_key, headers, host ("$HOST" = the target host).
'use strict';
const path = require('path');
const readline = require('readline');

const envDir = process.argv[2];
const Stripe = require(path.join(envDir, 'node_modules', 'stripe'));
let client = null;
let host = null;

function options(generic) {
  const out = {};
  for (const [key, val] of Object.entries(generic || {})) {
    if (key === 'idempotency_key') out.idempotencyKey = val;
    else if (key === 'api_version') out.apiVersion = val;
    else if (key === 'api_key') out.apiKey = val;
    else if (key === 'headers') out.additionalHeaders = val;
    else if (key === 'host') out.host = val === '$HOST' ? host : val;
    else throw new Error('unknown option ' + key);
  }
  return out;
}

function makeClient(req) {
  const url = new URL(req.base);
  host = url.hostname;
  const config = {
    host: url.hostname,
    port: Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
    protocol: url.protocol.replace(':', ''),
    maxNetworkRetries: 0,
    telemetry: false,
  };
  if (req.api_version) config.apiVersion = req.api_version;
  client = new Stripe(req.api_key, config);
}

function resolve(dotted) {
  let owner = client;
  const parts = dotted.split('.');
  for (const part of parts.slice(0, -1)) owner = owner[part];
  const fn = owner[parts[parts.length - 1]];
  if (typeof fn !== 'function') throw new Error('no SDK method ' + dotted);
  return fn.bind(owner);
}

// Stripe's bracket form for a GET query (rawRequest takes no params on GET).
function flatten(prefix, value, out) {
  if (value === null || value === undefined) return;
  if (Array.isArray(value)) {
    value.forEach((v, i) => flatten(`${prefix}[${i}]`, v, out));
  } else if (typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) flatten(prefix ? `${prefix}[${k}]` : k, v, out);
  } else {
    out.push(encodeURIComponent(prefix) + '=' + encodeURIComponent(String(value)));
  }
}

async function call(req) {
  const fn = resolve(req.path);
  const args = [...(req.args || [])];
  const opts = options(req.options);
  args.push(req.params || {});
  if (Object.keys(opts).length) args.push(opts);
  if (req.paging === 'auto') {
    const items = await fn(...args).autoPagingToArray({limit: 10000});
    return {value: items, cls: 'autoPagingToArray'};
  }
  const result = await fn(...args);
  return {value: result, cls: result && result.object ? String(result.object) : typeof result};
}

async function raw(req) {
  const method = req.method.toUpperCase();
  let target = req.path;
  let params = req.params || {};
  if (method !== 'POST') {
    const parts = [];
    flatten('', params, parts);
    if (parts.length) target += (target.includes('?') ? '&' : '?') + parts.join('&');
    params = {};
  }
  const opts = options(req.options);
  const result = await client.rawRequest(method, target, params, opts);
  return {value: result, cls: 'rawRequest'};
}

function errorOf(err) {
  const raw = err.raw || {};
  return {
    class: String(err.type || err.constructor.name).replace(/^Stripe/, ''),
    status: err.statusCode === undefined ? null : err.statusCode,
    type: raw.type === undefined ? err.rawType || null : raw.type,
    code: err.code === undefined ? null : err.code,
    param: err.param === undefined ? null : err.param,
    message: raw.message === undefined ? null : raw.message,
    sdk_message: err.message || '',
  };
}

async function handle(req) {
  if (req.cmd === 'hello') {
    const probe = new Stripe('sk_test_probe');
    return {
      ok: true,
      value: {sdk_version: Stripe.PACKAGE_VERSION, api_version: probe.getApiField('version')},
    };
  }
  if (req.cmd === 'client') {
    makeClient(req);
    return {ok: true, value: null};
  }
  try {
    let r;
    if (req.cmd === 'call') r = await call(req);
    else if (req.cmd === 'raw') r = await raw(req);
    else return {ok: false, crash: 'unknown cmd ' + req.cmd};
    const value = r.value === undefined ? null : JSON.parse(JSON.stringify(r.value));
    return {ok: true, value, class: r.cls};
  } catch (err) {
    if (err && err.type && String(err.type).length && err.raw !== undefined) {
      return {ok: false, error: errorOf(err)};
    }
    return {ok: false, crash: String((err && err.stack) || err)};
  }
}

const rl = readline.createInterface({input: process.stdin, terminal: false});
let chain = Promise.resolve();
rl.on('line', (line) => {
  if (!line.trim()) return;
  chain = chain.then(async () => {
    let answer;
    try {
      answer = await handle(JSON.parse(line));
    } catch (err) {
      answer = {ok: false, crash: String((err && err.stack) || err)};
    }
    process.stdout.write(JSON.stringify(answer) + '\n');
  });
});
