// wechat-standin: a stand-in for WeChat's API server, for tests and demos. It is NOT WeChat.
print("wechat-standin: not built yet")
