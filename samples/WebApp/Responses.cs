using VitMlNet.Scoring;

namespace VitMlNet.Samples.WebApp;

/// <summary>The answer of <c>POST /predict</c>.</summary>
/// <param name="PredictedLabel">The most probable class.</param>
/// <param name="Top5">The five most probable classes (fewer when the model has fewer), most probable first.</param>
/// <param name="Model">The model that scored the image.</param>
/// <param name="ElapsedMs">Time from the request's start to the answer, upload reading included, in milliseconds.</param>
public sealed record PredictionResponse(string PredictedLabel, IReadOnlyList<LabelScore> Top5, ModelIdentity Model, double ElapsedMs);

/// <summary>A class and its probability.</summary>
/// <param name="Label">The class name.</param>
/// <param name="Score">The probability, 0 to 1.</param>
public sealed record LabelScore(string Label, float Score);

/// <summary>Which model answered.</summary>
/// <param name="Name">The zip's file name.</param>
/// <param name="Version">The first 12 hex digits of the zip's SHA-256.</param>
public sealed record ModelIdentity(string Name, string Version);

/// <summary>The answer of <c>GET /model</c>.</summary>
/// <param name="Name">The zip's file name.</param>
/// <param name="Version">The first 12 hex digits of the zip's SHA-256.</param>
/// <param name="LoadedAt">When this version was loaded (UTC).</param>
/// <param name="Info">What <see cref="VisionTransformerModelZip.Inspect(Stream)"/> read from the zip.</param>
public sealed record ModelDescription(string Name, string Version, DateTimeOffset LoadedAt, VisionTransformerModelZip Info);

/// <summary>The answer of <c>GET /ready</c>.</summary>
/// <param name="Ready">Whether a model is loaded.</param>
/// <param name="Model">The served model, when ready.</param>
/// <param name="Reason">Why not ready, when not.</param>
public sealed record ReadyResponse(bool Ready, ModelIdentity? Model, string? Reason);

/// <summary>The answer of <c>GET /health</c>.</summary>
/// <param name="Status">Always <c>ok</c>: the process answers.</param>
public sealed record HealthResponse(string Status);

/// <summary>Every error answer: one line saying what was wrong.</summary>
/// <param name="Error">The reason, e.g. <c>Image 'a.png' cannot be loaded: not a recognised image format (...)</c>.</param>
public sealed record ErrorResponse(string Error);
