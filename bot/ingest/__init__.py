"""Write side: records from sources into the store, with what is derived from them (handoff
cycles, focus rollups, pipeline state and streaks) in the same transaction. May call metrics
for the rules; never Slack or the sources themselves."""
