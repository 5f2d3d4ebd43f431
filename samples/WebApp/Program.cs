// WebApp: serves a VitMlNet model zip over HTTP with the scoring package only (no TorchSharp).
//
//   dotnet run --project samples/WebApp -c Release -- --model path/to/model.zip --urls http://127.0.0.1:5000
//
// POST /predict (multipart field "image") → {predictedLabel, top5, model, elapsedMs}; GET / → the page;
// GET /health, /ready, /model; OpenAPI at /openapi/v1.json. The zip is reloaded when it is replaced on disk.
using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Http.Features;
using KestrelServerOptions = Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions;
using Microsoft.Extensions.Options;
using VitMlNet.Samples.WebApp;
using VitMlNet.Scoring;

var builder = WebApplication.CreateBuilder(args);
// One line per request is too much for a prediction server: ASP.NET Core's own logs from warnings up ("Now
// listening on" comes from Microsoft.Hosting.Lifetime and stays); the model's loads and reloads are logged.
builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
builder.Services.AddOptions<WebAppOptions>().Bind(builder.Configuration);
// Kestrel refuses a body over the limit as it arrives (a chunked upload has no Content-Length to check first).
builder.Services.AddOptions<KestrelServerOptions>().Configure<IOptions<WebAppOptions>>((kestrel, o) => kestrel.Limits.MaxRequestBodySize = o.Value.MaxUploadBytes);
builder.Services.AddSingleton<ModelHost>();
builder.Services.AddHostedService(services => services.GetRequiredService<ModelHost>());
builder.Services.AddOpenApi();

var app = builder.Build();
var problems = app.Services.GetRequiredService<IOptions<WebAppOptions>>().Value.Validate();
if (problems.Count > 0)
{
    Console.Error.WriteLine($"WebApp: error: {string.Join("; ", problems)}.");
    return 2;
}

app.MapOpenApi();
app.MapGet("/", () => Page.Serve("index.html")).ExcludeFromDescription();
app.MapGet("/app.js", () => Page.Serve("app.js")).ExcludeFromDescription();
app.MapGet("/app.css", () => Page.Serve("app.css")).ExcludeFromDescription();

app.MapGet("/health", () => Results.Ok(new HealthResponse("ok")))
    .WithSummary("Liveness: the process answers.");

app.MapGet("/ready", (ModelHost host) => host.Current is { } model
        ? Results.Ok(new ReadyResponse(true, new ModelIdentity(model.Name, model.Version), null))
        : Results.Json(new ReadyResponse(false, null, host.LastError ?? "the model is loading"), statusCode: StatusCodes.Status503ServiceUnavailable))
    .WithSummary("Readiness: 200 once the model is loaded, 503 before (or while its zip cannot be loaded).")
    .Produces<ReadyResponse>()
    .Produces<ReadyResponse>(StatusCodes.Status503ServiceUnavailable);

app.MapGet("/model", (ModelHost host) => host.Current is { } model
        ? Results.Ok(new ModelDescription(model.Name, model.Version, model.LoadedAt, model.Info))
        : Results.Json(new ErrorResponse(host.LastError ?? "the model is loading"), statusCode: StatusCodes.Status503ServiceUnavailable))
    .WithSummary("The served model: file name, version (SHA-256 prefix), class names, input size, architecture (VisionTransformerModelZip.Inspect).")
    .Produces<ModelDescription>()
    .Produces<ErrorResponse>(StatusCodes.Status503ServiceUnavailable);

app.MapPost("/predict", Predictor.PredictAsync)
    .WithSummary("Classifies one image: multipart/form-data with the file in the field 'image'.")
    .Accepts<IFormFile>("multipart/form-data")
    .Produces<PredictionResponse>()
    .Produces<ErrorResponse>(StatusCodes.Status400BadRequest)
    .Produces<ErrorResponse>(StatusCodes.Status413PayloadTooLarge)
    .Produces(StatusCodes.Status415UnsupportedMediaType)
    .Produces<ErrorResponse>(StatusCodes.Status503ServiceUnavailable);

app.Run();
return 0;

/// <summary>The web app's entry point (public so that tests can host it with WebApplicationFactory).</summary>
public partial class Program;

namespace VitMlNet.Samples.WebApp
{
    /// <summary><c>POST /predict</c>: checks the upload's size, then the image's header, then scores it.</summary>
    internal static class Predictor
    {
        public static async Task<IResult> PredictAsync(HttpRequest request, ModelHost host, IOptions<WebAppOptions> options, CancellationToken cancellation)
        {
            var clock = Stopwatch.StartNew();
            var o = options.Value;
            var inv = CultureInfo.InvariantCulture;
            IResult TooLarge(long? size) => Error(StatusCodes.Status413PayloadTooLarge, size is long n
                ? string.Format(inv, "the upload is {0:N0} bytes, more than the limit of {1:N0} bytes", n, o.MaxUploadBytes)
                : string.Format(inv, "the upload is more than the limit of {0:N0} bytes", o.MaxUploadBytes));

            // Refused from the Content-Length header: not one byte of the body is read.
            if (request.ContentLength > o.MaxUploadBytes) return TooLarge(request.ContentLength);
            // Another Content-Type never gets here: the endpoint accepts multipart/form-data only (415 from routing).

            IFormCollection form;
            try
            {
                form = await request.ReadFormAsync(new FormOptions { MultipartBodyLengthLimit = o.MaxUploadBytes, ValueCountLimit = 16 }, cancellation);
            }
            catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
            {
                return TooLarge(null);
            }
            catch (InvalidDataException e) when (e.Message.Contains("limit", StringComparison.OrdinalIgnoreCase))
            {
                return TooLarge(null);
            }
            catch (Exception e) when (e is InvalidDataException or IOException or BadHttpRequestException)
            {
                return Error(StatusCodes.Status400BadRequest, $"the multipart body cannot be read: {e.Message.ReplaceLineEndings(" ")}");
            }

            var file = form.Files.GetFile("image");
            if (file is null)
            {
                string fields = string.Join(", ", form.Files.Select(f => f.Name).Concat(form.Keys).Distinct().Select(n => $"'{n}'"));
                return Error(StatusCodes.Status400BadRequest, $"no file in the multipart field 'image' (fields sent: {(fields.Length == 0 ? "none" : fields)})");
            }

            if (file.Length > o.MaxUploadBytes) return TooLarge(file.Length);
            byte[] bytes = new byte[file.Length];
            await using (var stream = file.OpenReadStream())
            {
                await stream.ReadExactlyAsync(bytes, cancellation);
            }

            string name = string.IsNullOrEmpty(file.FileName) ? "image" : Path.GetFileName(file.FileName);
            Microsoft.ML.Data.MLImage image;
            try
            {
                // The size from the header before any pixel is decoded: a decompression bomb costs its header.
                image = SafeImage.Load(bytes, name, o.MaxPixels);
            }
            catch (ImageRejectedException e)
            {
                return Error(StatusCodes.Status400BadRequest, e.Message);
            }

            using (image)
            {
                using var lease = host.Acquire();
                if (lease is null) return Error(StatusCodes.Status503ServiceUnavailable, host.LastError ?? "the model is loading");
                var model = lease.Model;
                var output = lease.Predict(image);
                var top = output.Score
                    .Select((p, k) => new LabelScore(k < model.ClassNames.Count ? model.ClassNames[k] : k.ToString(inv), p))
                    .OrderByDescending(s => s.Score)
                    .Take(5)
                    .ToArray();
                return Results.Ok(new PredictionResponse(output.PredictedLabel, top, new ModelIdentity(model.Name, model.Version), Math.Round(clock.Elapsed.TotalMilliseconds, 2)));
            }
        }

        private static IResult Error(int status, string message) => Results.Json(new ErrorResponse(message), statusCode: status);
    }

    /// <summary>The page's three files, embedded in the assembly.</summary>
    internal static class Page
    {
        public static IResult Serve(string file)
        {
            var stream = typeof(Page).Assembly.GetManifestResourceStream("wwwroot/" + file)
                ?? throw new InvalidOperationException($"The page file '{file}' is not embedded in the assembly.");
            string type = Path.GetExtension(file) switch
            {
                ".html" => "text/html; charset=utf-8",
                ".js" => "text/javascript; charset=utf-8",
                _ => "text/css; charset=utf-8",
            };
            return Results.Stream(stream, type);
        }
    }
}
