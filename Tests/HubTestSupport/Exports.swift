// The synthetic-data generators are part of every test target's toolbox.
@_exported public import HubSynthetic
