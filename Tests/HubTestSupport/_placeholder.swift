enum _PlaceholderHubTestSupport {}
