// A training script's MLflow calls through the npm `mlflow` client (a third party's), unchanged: the tracking URI and
// token come from the environment as for any MLflow client. Run: NODE_PATH=tests/node/node_modules node samples/mlflow/session.cjs
const MLflow = require('mlflow');
const { Experiments, Runs, Metrics } = new MLflow({ endpoint: process.env.MLFLOW_TRACKING_URI,
  headers: { Authorization: `Bearer ${process.env.MLFLOW_TRACKING_TOKEN}` } });
const say = (line) => process.stderr.write(line + '\n'); // the client itself prints each request body on stdout

(async () => {
  const { experiment_id } = await Experiments.create({ name: 'recsys-notebook' });
  const { run } = await Runs.create({ experiment_id, start_time: Date.now(), tags: [{ key: 'mlflow.source.name', value: 'train.js' }] });
  const run_id = run.info.run_id;
  say(`run ${run_id} in experiment ${experiment_id}, artifacts at ${run.info.artifact_uri}`);
  await Runs.logParameter({ run_id, key: 'lr', value: '0.01' });
  for (let step = 1; step <= 3; step++) await Runs.logMetric({ run_id, key: 'loss', value: 1 / step, timestamp: Date.now(), step });
  await Runs.logBatch({ run_id, metrics: [{ key: 'auc', value: 0.91, timestamp: Date.now(), step: 3 }], params: [{ key: 'epochs', value: '3' }] });
  await Runs.setTag({ run_id, key: 'team', value: 'recsys' });
  const found = await Runs.search({ experiment_ids: [experiment_id], filter: "metrics.loss < 0.5 AND params.lr = '0.01'" });
  say(`search: ${found.runs.length} run(s) with loss < 0.5 and lr 0.01`);
  const { metrics } = await Metrics.getHistory({ run_id, metric_key: 'loss' });
  say(`loss history: ${metrics.map(m => m.value.toFixed(3)).join(', ')}`);
  await Runs.logMetric({ run_id: 'not-a-run', key: 'loss', value: 1, timestamp: Date.now() }).catch(e => say(e.message));
  console.log(run_id);
})();
