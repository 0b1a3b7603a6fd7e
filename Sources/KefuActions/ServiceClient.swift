// placeholder: the service client is built here (helper slice).
