// placeholder: the sample backend is built here (helper slice).
print("sample-backend: not built yet")
