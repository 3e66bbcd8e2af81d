namespace EventMlOps.Training.Anomaly;

/// <summary>Sizes of a generated sensor data set: machines, days of one-minute readings, and the share of each
/// machine's timeline that is normal operation (anomalies occur only after it). <paramref name="Recalibration"/>: from
/// <paramref name="RecalibratedFrom"/> (a share of the timeline) on, every temperature sensor reads that many °C more —
/// a fleet-wide recalibration, the kind of drift a model trained before it has never seen.</summary>
/// <paramref name="FaultGapHours"/>: the least normal operation between two faults (up to 10 h more are drawn).
/// <paramref name="Outages"/>: per machine, that many stretches without readings (half of them 1–10 minutes, half 2–48
/// hours, anywhere in the timeline), each ended by the last reading before it sent again (a duplicate), as a gateway that
/// reconnects may.
public sealed record SensorGeneratorOptions(int Machines = 6, double Days = 28, double NormalFraction = 0.8, int Seed = 42,
    double Recalibration = 0, double RecalibratedFrom = 0, double FaultGapHours = 3, int Outages = 0);

/// <summary>Makes realistic multi-sensor series, one reading a minute per machine: a load that follows a daily
/// cycle plus short-term fluctuation drives temperature (°C, with thermal inertia), vibration (mm/s, proportional to
/// load) and pressure (bar); the machines are units of one model whose levels differ by a few per cent, with their own cycle amplitude and phase; every sensor has noise.
/// After the normal share of the timeline, labelled anomalies of four kinds follow one another with 3–13 h (by default) of normal
/// operation between them, each lasting until "maintenance" ends it: <c>spike</c> (1–3 min, one sensor jumps),
/// <c>drift</c> (the temperature or pressure calibration drifts away linearly, by 8–15 °C or 0.8–1.5 bar over
/// 3–8 h), <c>stuck</c> (vibration or pressure repeats its last value for 3–8 h) and <c>rising_vibration</c>
/// (bearing wear: vibration grows linearly to 2–3.5× over 4–10 h while the temperature creeps up by 3 °C). Every
/// reading of an anomaly is labelled with its kind, from its first minute (when gradual faults are still far too
/// small to see). The same options give the same data.</summary>
public static class SensorGenerator
{
    public static readonly string[] Features = ["temperature", "vibration", "pressure"];
    public static readonly string[] Kinds = ["spike", "drift", "stuck", "rising_vibration"];
    private const int MinutesPerDay = 1440;
    private const int T = 0, V = 1, P = 2;

    public static SensorData Generate(SensorGeneratorOptions options)
    {
        // The machines come from their own generator: a seed names one fleet, however many days are generated (a longer
        // timeline continues the same machines, e.g. a stream after the data a model was trained on).
        var fleet = new Random(options.Seed);
        var rng = new Random(unchecked(options.Seed * 7919 + 1));
        var length = Math.Max(MinutesPerDay / 24, (int)(options.Days * MinutesPerDay));
        var start = new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();
        var machines = new List<MachineSeries>();
        for (var m = 0; m < options.Machines; m++)
        {
            // a fleet of one machine model: the same set points, with a few per cent unit-to-unit variation
            var baseT = 60 + 3 * (fleet.NextDouble() - 0.5);
            var baseV = 2.0 * (1 + 0.1 * (fleet.NextDouble() - 0.5));
            var baseP = 5 + 0.2 * (fleet.NextDouble() - 0.5);
            var amplitude = 0.25 + 0.15 * fleet.NextDouble();
            var phase = 2 * Math.PI * (0.15 * fleet.NextDouble() - 0.25);
            var values = new float[length * 3];
            var labels = new string?[length];
            double fluctuation = 0, ema = 0.55;
            for (var t = 0; t < length; t++)
            {
                fluctuation = 0.95 * fluctuation + 0.03 * Gaussian(rng);
                var load = Math.Clamp(0.55 + amplitude * Math.Sin(2 * Math.PI * t / MinutesPerDay + phase) + fluctuation, 0.05, 1.3);
                ema += 0.08 * (load - ema);
                values[t * 3 + T] = (float)(baseT + 22 * ema + 0.25 * Gaussian(rng));
                values[t * 3 + V] = (float)(baseV * (0.5 + load) + 0.025 * baseV * Gaussian(rng));
                values[t * 3 + P] = (float)(baseP + 1.6 * load + 0.03 * Gaussian(rng));
            }
            InjectAnomalies(rng, values, labels, (int)(length * options.NormalFraction), baseV, (int)(options.FaultGapHours * 60));
            for (var t = (int)(length * options.RecalibratedFrom); t < length; t++) values[t * 3 + T] += (float)options.Recalibration;
            machines.Add(WithOutages(new MachineSeries
            {
                Machine = $"machine-{m + 1}",
                Timestamps = Enumerable.Range(0, length).Select(t => start + t * 60_000L).ToArray(),
                Values = values,
                Labels = labels,
            }, options.Outages, rng));
        }
        return new SensorData { Features = Features, Machines = machines };
    }

    /// <summary>The series without <paramref name="outages"/> stretches of readings, the last reading before each sent again
    /// after it, a second later.</summary>
    private static MachineSeries WithOutages(MachineSeries m, int outages, Random rng)
    {
        if (outages == 0) return m;
        var keep = Enumerable.Repeat(1, m.Length).ToArray(); // how often each reading is sent: 0, 1 or 2
        for (var o = 0; o < outages; o++)
        {
            var from = 1 + rng.Next(m.Length - 1);
            var minutes = rng.Next(2) == 0 ? 1 + rng.Next(10) : 120 + rng.Next(46 * 60 + 1);
            for (var t = from; t < Math.Min(m.Length, from + minutes); t++) keep[t] = 0;
            if (keep[from - 1] > 0) keep[from - 1] = 2;
        }
        var (times, values, labels) = (new List<long>(), new List<float>(), new List<string?>());
        for (var t = 0; t < m.Length; t++)
            for (var copy = 0; copy < keep[t]; copy++)
            {
                times.Add(m.Timestamps[t] + copy * 1000L);
                values.AddRange(m.Values.AsSpan(t * 3, 3));
                labels.Add(m.Labels![t]);
            }
        return new MachineSeries { Machine = m.Machine, Timestamps = [.. times], Values = [.. values], Labels = [.. labels] };
    }

    private static void InjectAnomalies(Random rng, float[] values, string?[] labels, int from, double baseV, int gapMinutes)
    {
        var length = labels.Length;
        var t = from + 60 + rng.Next(240);
        while (true)
        {
            var kind = Kinds[rng.Next(Kinds.Length)];
            var duration = kind switch
            {
                "spike" => 1 + rng.Next(3),
                "drift" => 180 + rng.Next(301),
                "stuck" => 180 + rng.Next(301),
                _ => 240 + rng.Next(361),
            };
            if (t + duration >= length) break;
            switch (kind)
            {
                case "spike":
                {
                    var sensor = rng.Next(3);
                    var jump = sensor switch
                    {
                        T => 6 + 6 * rng.NextDouble(),
                        V => (2 + 2 * rng.NextDouble()) * baseV,
                        _ => (0.8 + 0.7 * rng.NextDouble()) * (rng.Next(2) == 0 ? -1 : 1),
                    };
                    for (var k = 0; k < duration; k++) values[(t + k) * 3 + sensor] += (float)jump;
                    break;
                }
                case "drift":
                {
                    var sensor = rng.Next(2) == 0 ? T : P;
                    var total = sensor == T ? 8 + 7 * rng.NextDouble() : 0.8 + 0.7 * rng.NextDouble();
                    for (var k = 0; k < duration; k++) values[(t + k) * 3 + sensor] += (float)(total * (k + 1) / duration);
                    break;
                }
                case "stuck":
                {
                    var sensor = rng.Next(2) == 0 ? V : P;
                    var frozen = values[t * 3 + sensor];
                    for (var k = 0; k < duration; k++) values[(t + k) * 3 + sensor] = frozen;
                    break;
                }
                default:
                {
                    var factor = 2 + 1.5 * rng.NextDouble();
                    for (var k = 0; k < duration; k++)
                    {
                        var progress = (k + 1.0) / duration;
                        values[(t + k) * 3 + V] *= (float)(1 + (factor - 1) * progress);
                        values[(t + k) * 3 + T] += (float)(3 * progress);
                    }
                    break;
                }
            }
            for (var k = 0; k < duration; k++) labels[t + k] = kind;
            t += duration + gapMinutes + rng.Next(600);
        }
    }

    private static double Gaussian(Random rng) => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
}
