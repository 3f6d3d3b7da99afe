using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Alicia.Assistant;

/// <summary>The <c>Assistant</c> configuration section: the command router, the local intents and Grok.</summary>
public sealed class AssistantSettings
{
    /// <summary>Off: transcripts and text requests are not acted on.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>The language of the embedded grammar (<c>Grammar/{Language}.json</c>) used when a request names none.</summary>
    public string Language { get; set; } = "en";

    /// <summary>A grammar file of one's own (another language, other phrasings) instead of the embedded one.</summary>
    public string GrammarPath { get; set; } = "";

    /// <summary>How long a device has to echo a command before it counts as not done.</summary>
    [Range(10, 60_000)]
    public int ConfirmTimeoutMs { get; set; } = 1500;

    /// <summary>Messages remembered per conversation (room, or session without a room).</summary>
    [Range(0, 200)]
    public int MemoryMessages { get; set; } = 12;

    /// <summary>Conversations remembered at once (the least recently used is forgotten first).</summary>
    [Range(1, 10_000)]
    public int MemoryConversations { get; set; } = 64;

    /// <summary>A conversation silent this long starts afresh.</summary>
    [Range(1, 24 * 60)]
    public int ForgetAfterMinutes { get; set; } = 10;

    /// <summary>Spoken names of devices, by device id (<c>"kitchen-bulb-1": "ceiling light, big light"</c>); the first one is used in replies.</summary>
    public Dictionary<string, string> DeviceNames { get; set; } = [];

    [ValidateObjectMembers]
    public GrokSettings Grok { get; set; } = new();
}

/// <summary>The <c>Assistant:Grok</c> section: xAI's OpenAI-compatible chat completions API.</summary>
public sealed class GrokSettings
{
    public string BaseUrl { get; set; } = "https://api.x.ai/v1";
    public string Model { get; set; } = "grok-4";

    /// <summary>The API key (else the <c>XAI_API_KEY</c> environment variable). Without one, open questions get the fallback reply.</summary>
    public string ApiKey { get; set; } = "";

    /// <summary>The first streamed byte must come within this, or the fallback reply is spoken (the design's two seconds, with margin).</summary>
    [Range(100, 60_000)]
    public int FirstByteTimeoutMs { get; set; } = 1500;

    /// <summary>The whole answer, tool calls included.</summary>
    [Range(1000, 600_000)]
    public int TotalTimeoutMs { get; set; } = 30_000;

    [Range(16, 8192)]
    public int MaxOutputTokens { get; set; } = 400;

    /// <summary>Rounds of tool calls in one answer.</summary>
    [Range(0, 16)]
    public int MaxToolRounds { get; set; } = 4;

    /// <summary>Failures in a row (within a minute) that open the circuit: then the fallback is immediate until <see cref="BreakSeconds"/> pass.</summary>
    [Range(2, 1000)]
    public int BreakAfterFailures { get; set; } = 3;

    [Range(1, 3600)]
    public int BreakSeconds { get; set; } = 30;

    /// <summary>A base URL and a key are set.</summary>
    public bool IsConfigured => !string.IsNullOrWhiteSpace(BaseUrl) && !string.IsNullOrWhiteSpace(ApiKey);
}
