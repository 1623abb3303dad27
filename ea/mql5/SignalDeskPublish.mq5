//+------------------------------------------------------------------+
//|                                            SignalDeskPublish.mq5 |
//| Publishes one signal from this terminal to SignalDesk as an      |
//| outside producer (issue 15): POST /api/v1/signals, signed like   |
//| the EA's requests (SignalDeskHttp.mqh) with X-Producer-Id.       |
//| The owner registers the producer first (/producers add NAME or   |
//| python -m bot producers add --name NAME) and pastes its id and   |
//| secret into the inputs. A script, not an EA: drop it on a chart, |
//| fill in the signal, read the answer in the Experts tab. The      |
//| server runs every check of /post (symbol, entry, stop, take-     |
//| profit); a repeat of the external id changes nothing.            |
//| tests/ea/client/test_mql5_source.py checks this file against the |
//| server's route, body fields and limits.                          |
//+------------------------------------------------------------------+
#property copyright   "SignalDesk"
#property version     "1.00"
#property description "Publishes one signal to SignalDesk (POST /api/v1/signals, signed)."
#property script_show_inputs

#include "include/SignalDeskHttp.mqh"
#include "include/SignalDeskJson.mqh"

#define SD_PRODUCER_HEADER   "X-Producer-Id"
#define SD_SIGNALS_PATH      "/api/v1/signals"
#define SD_EXTERNAL_ID_FORMAT "mt5-%I64d-%I64d"
//--- the server's limits (webapp/ingest.py SignalBody): an external id of 1 to 64 of these
//--- characters, a note of at most 200
#define SD_EXTERNAL_ID_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:@/-"
#define SD_MAX_EXTERNAL_ID   64
#define SD_MAX_NOTE          200
#define SD_PUBLISH_TIMEOUT_MS 15000

enum ENUM_SD_SIDE
  {
   SD_SIDE_BUY=0,  // buy
   SD_SIDE_SELL=1  // sell
  };

input string       InpServer     = "https://signaldesk.example.com"; // Server URL (whitelist it!)
input string       InpProducerId = "";          // Producer id (prd_...)
input string       InpSecret     = "";          // Producer secret (shown once)
input string       InpSymbol     = "";          // Symbol (empty: this chart's)
input ENUM_SD_SIDE InpSide       = SD_SIDE_BUY; // Side
input double       InpEntry      = 0.0;         // Entry price (0: market, at the last price)
input double       InpStop       = 0.0;         // Stop-loss price
input double       InpTakeProfit = 0.0;         // Take-profit price (0: the strategy's R:R)
input string       InpExternalId = "";          // External id (empty: mt5-<login>-<time>)
input string       InpNote       = "";          // Note shown with the signal

//--- the external id: the input, or one from the account and the GMT time (a second run
//--- within the same second is the same signal: the server keeps the first)
string SdExternalId()
  {
   if(InpExternalId!="")
      return InpExternalId;
   return StringFormat(SD_EXTERNAL_ID_FORMAT,AccountInfoInteger(ACCOUNT_LOGIN),(long)TimeGMT());
  }

//--- "" if `id` is 1 to 64 of the server's characters, else why not
string SdCheckExternalId(const string id)
  {
   int n=StringLen(id);
   if(n<1 || n>SD_MAX_EXTERNAL_ID)
      return StringFormat("the external id has 1 to %d characters",SD_MAX_EXTERNAL_ID);
   for(int i=0;i<n;i++)
      if(StringFind(SD_EXTERNAL_ID_CHARS,StringSubstr(id,i,1))<0)
         return "the external id may hold only A-Z a-z 0-9 . _ : @ / -";
   return "";
  }

//--- "" if the inputs can make a request, else the first problem
string SdCheckInputs(const string symbol,const string external_id)
  {
   if(InpProducerId=="" || InpSecret=="")
      return "fill in the producer id and the secret (python -m bot producers add)";
   if(symbol=="")
      return "no symbol";
   if(InpStop<=0.0)
      return "the stop-loss price is required";
   if(InpEntry<0.0 || InpTakeProfit<0.0)
      return "prices are positive (0: none)";
   if(StringLen(InpNote)>SD_MAX_NOTE)
      return StringFormat("the note has at most %d characters",SD_MAX_NOTE);
   return SdCheckExternalId(external_id);
  }

//--- the request body, in the order of the server's SignalBody: an entry of 0 is a market
//--- order (entry null), a take-profit of 0 is null (the strategy's reward:risk)
string SdPublishBody(const string symbol,const string external_id)
  {
   string side=InpSide==SD_SIDE_SELL ? "sell" : "buy";
   string order_type=InpEntry>0.0 ? "limit" : "market";
   return "{"+SdPairStr("external_id",external_id)+","+SdPairStr("symbol",symbol)+","
          +SdPairStr("side",side)+","+SdPairStr("order_type",order_type)+","
          +SdPairLevel("entry",InpEntry)+","+SdPairNum("stop",InpStop)+","
          +SdPairLevel("take_profit",InpTakeProfit)+","+SdPairStr("note",InpNote)+"}";
  }

//--- the answer in one line: the signal (201 new, 200 a repeat) or the server's problem
string SdDescribeAnswer(const int status,const string answer)
  {
   CSdJsonParser parser;
   CSdJson *root=parser.Parse(answer);
   if(root==NULL)
      return StringFormat("HTTP %d: %s",status,answer);
   string text;
   if(status==200 || status==201)
     {
      string what=status==201 ? "published as" : "already sent (this external id) as";
      if(root.IsNull("signal_id"))
         text=StringFormat("%s held signal %I64d: the owner confirms it in the bot",what,
                           root.Int("held_id"));
      else
         text=StringFormat("%s signal %I64d (%s)",what,root.Int("signal_id"),root.Str("status"));
     }
   else
     {
      text=StringFormat("refused (HTTP %d %s): %s",status,root.Str("title"),root.Str("detail"));
      if(!root.IsNull("field"))
         text+=" [field: "+root.Str("field")+"]";
     }
   delete root;
   return text;
  }

void OnStart()
  {
   string symbol=InpSymbol=="" ? _Symbol : InpSymbol;
   string external_id=SdExternalId();
   string problem=SdCheckInputs(symbol,external_id);
   if(problem!="")
     {
      Print("SignalDesk publish: not sent: ",problem);
      Alert("SignalDesk publish: not sent: ",problem);
      return;
     }
   CSdHttp http;
   http.Init(InpServer,InpProducerId,InpSecret,SD_PRODUCER_HEADER);
   string answer;
   int status=http.Request("POST",SD_SIGNALS_PATH,SdPublishBody(symbol,external_id),answer,
                           SD_PUBLISH_TIMEOUT_MS);
   if(status==-1)
     {
      string why=http.LastError()==4014
                 ? "allow the server in Tools > Options > Expert Advisors > Allow WebRequest"
                 : "WebRequest error "+IntegerToString(http.LastError());
      Print("SignalDesk publish: ",external_id," may not have been sent: ",why,
            ". To retry, set the external id input to ",external_id,
            ": the server never publishes the same one twice");
      Alert("SignalDesk publish: not sent: ",why);
      return;
     }
   string text=SdDescribeAnswer(status,answer);
   Print("SignalDesk publish: ",external_id," ",symbol,": ",text);
   if(status!=200 && status!=201)
      Alert("SignalDesk publish: ",text);
  }
//+------------------------------------------------------------------+
