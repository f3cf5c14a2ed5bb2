using Microsoft.Extensions.Logging;
using RerankSharp.Inference;
using RerankSharp.Scoring;

namespace RerankSharp.Tests.Inference;

public class EncoderSessionTests
{
    [Theory]
    [InlineData(Device.Cuda, 1)]   // asked for explicitly: say why it is not used and what to install
    [InlineData(Device.Auto, 0)]   // auto: CPU is an expected outcome, nothing to warn about
    public async Task Without_the_gpu_runtime_cuda_falls_back_to_cpu_with_the_same_scores(Device device, int warnings)
    {
        var logger = new WarningLogger();
        using var cpu = await CrossEncoder.LoadAsync(FixturePaths.Model("tiny-a"));
        using var fallback = await CrossEncoder.LoadAsync(FixturePaths.Model("tiny-a"), new CrossEncoderOptions { Device = device, Logger = logger });

        Assert.Equal("CPUExecutionProvider", fallback.ExecutionProvider);
        Assert.Equal(warnings, logger.Warnings.Count);
        if (warnings > 0) Assert.Contains("Microsoft.ML.OnnxRuntime.Gpu.Linux", logger.Warnings[0]);
        Assert.Equal(cpu.Predict([("q", "d"), ("中国的首都是哪里?", "北京是中国的政治中心和首都。")]),
            fallback.Predict([("q", "d"), ("中国的首都是哪里?", "北京是中国的政治中心和首都。")]));
    }

    private sealed class WarningLogger : ILogger
    {
        public List<string> Warnings { get; } = [];
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel == LogLevel.Warning) Warnings.Add(formatter(state, exception));
        }
    }
}
