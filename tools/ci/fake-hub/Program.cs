// Serves one fixture model as a hub repository on 127.0.0.1 until SIGTERM or SIGINT.
// Usage: dotnet FakeHub.Server.dll REPO_ID [FIXTURE]   (FIXTURE: a folder of tests/fixtures/models, default tiny-a)
// Prints "endpoint http://127.0.0.1:PORT" once listening, then one "request METHOD PATH" line per request, so a caller
// can tell whether anything asked the hub after a point.
using System.Runtime.InteropServices;
using RerankSharp.Tests;

if (args.Length is < 1 or > 2)
{
    Console.Error.WriteLine("usage: FakeHub.Server REPO_ID [FIXTURE]");
    return 2;
}
using var hub = new FakeHub();
hub.AddFixtureModel(args[0], args.Length > 1 ? args[1] : "tiny-a");
Console.Out.WriteLine($"endpoint {hub.Endpoint}");
Console.Out.Flush();

using var stop = new CancellationTokenSource();
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context => { context.Cancel = true; stop.Cancel(); });
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, context => { context.Cancel = true; stop.Cancel(); });
var reported = 0;
while (!stop.IsCancellationRequested)
{
    try { await Task.Delay(200, stop.Token); }
    catch (OperationCanceledException) { }
    foreach (var request in hub.Requests.Skip(reported))
    {
        Console.Out.WriteLine($"request {request.Method} {request.Path}");
        reported++;
    }
    Console.Out.Flush();
}
return 0;
