'use strict';
// A mocha reporter that prints one line per case on stderr and writes every case's result
// as JSON to $PICOPS_NODE_RESULTS (stdout belongs to the suite's own console output).
var fs = require('fs');

function Reporter(runner) {
  var results = [];
  function record(test, state, err) {
    var entry = { title: test.fullTitle(), state: state, ms: test.duration || 0 };
    if (err) entry.error = String((err && (err.stack || err.message)) || err).slice(0, 2000);
    results.push(entry);
    process.stderr.write('  ' + (state === 'passed' ? 'ok  ' : state === 'failed' ? 'FAIL' : 'skip') +
      ' ' + entry.title + '\n');
  }
  runner.on('pass', function (test) { record(test, 'passed'); });
  runner.on('fail', function (test, err) { record(test, 'failed', err); });
  runner.on('pending', function (test) { record(test, 'pending'); });
  runner.on('end', function () {
    fs.writeFileSync(process.env.PICOPS_NODE_RESULTS, JSON.stringify(results, null, 1));
  });
}
module.exports = Reporter;
