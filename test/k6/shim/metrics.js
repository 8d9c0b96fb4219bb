// test/k6/shim/metrics.js -- k6's custom metrics, recording what is added.
class Metric {
  constructor(name) {
    this.name = name;
    globalThis.__shim.metrics[name] = [];
  }

  add(value) {
    globalThis.__shim.metrics[this.name].push(value);
  }
}

export class Rate extends Metric {}
export class Trend extends Metric {}
export class Counter extends Metric {}
