'use strict';
// Loaded with `mocha --require` before cos-nodejs-sdk-v5's own test suite: it points every
// COS client the suite creates at the picops emulator, and changes nothing else. Each
// client gets Protocol "http:" (the emulator speaks plain HTTP) and either
//   PICOPS_NODE_MODE=proxy  Proxy: "http://<emulator>" (the emulator answers absolute-form
//                           requests as an HTTP proxy would) for COS host names; a request
//                           to any other host (a test's deliberate 127.0.0.1:12345) is left
//                           to the environment (HTTP_PROXY/NO_PROXY), as a proxy
//                           auto-configuration for *.myqcloud.com would, or
//   PICOPS_NODE_MODE=ip     Ip: "<emulator>" (the SDK connects there and keeps the COS host
//                           name in the Host header).
// The suite's assertions, keys and calls are untouched.
var sdkIndex = require.resolve(process.env.PICOPS_NODE_SDK);
var endpoint = process.env.PICOPS_ENDPOINT; // host:port of the emulator
var mode = process.env.PICOPS_NODE_MODE || 'proxy';
if (!endpoint) throw new Error('PICOPS_ENDPOINT (host:port of the emulator) is not set');

var COS = require(sdkIndex);
var COS_HOST = /^https?:\/\/[^/]*\.(myqcloud\.com|tencentcos\.cn)(:\d+)?(\/|$)/i;

function pointedAtEmulator(options) {
  var local = Object.assign({}, options);
  local.Protocol = 'http:';
  if (mode === 'ip') local.Ip = endpoint;
  else local.Proxy = 'http://' + endpoint;
  return local;
}

function LocalCOS(options) {
  COS.call(this, pointedAtEmulator(options));
  if (mode !== 'ip') {
    this.on('before-send', function (opt) {
      if (!COS_HOST.test(opt.url)) delete opt.proxy;
    });
  }
}
LocalCOS.prototype = COS.prototype;
Object.keys(COS).forEach(function (name) {
  LocalCOS[name] = COS[name];
});
require.cache[sdkIndex].exports = LocalCOS;
