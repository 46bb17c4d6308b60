"""The calls the other-instrumentation subprocess scripts make: one plain and one streamed
chat through openai or anthropic against the simulator, with wattmeter instrumented before
or after the other tool (the script defines `order`, `theirs`, `url` and `is_openai`)."""

__all__ = ["CALLS"]

CALLS = """
if order == "wattmeter-first":
    wattmeter.instrument(); theirs()
else:
    theirs(); wattmeter.instrument()
msgs = [{"role": "user", "content": "hello"}]
with wattmeter.attribute(team="search"):
    if is_openai:
        import openai
        c = openai.OpenAI(base_url=url + "/v1", api_key="sk-test", max_retries=0)
        c.chat.completions.create(model="gpt-4o", max_tokens=5, messages=msgs)
        list(c.chat.completions.create(model="gpt-4o", max_tokens=5, messages=msgs,
                                       stream=True))
    else:
        import anthropic
        c = anthropic.Anthropic(base_url=url, api_key="sk-test", max_retries=0)
        c.messages.create(model="claude-haiku-4-5", max_tokens=5, messages=msgs)
        list(c.messages.create(model="claude-haiku-4-5", max_tokens=5, messages=msgs,
                               stream=True))
"""
