"""Archive: every post and comment kept as a public record, removed ones included."""
